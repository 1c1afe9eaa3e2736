"""Hypothesis strategies and properties shared by the CI fuzz tests and `benchmarks/fuzz.py`."""

import os

CI_EXAMPLES = 300
"""Examples per target in the test suite; `NPS_FUZZ_EXAMPLES` raises it for a long campaign."""


def examples(ci: int = CI_EXAMPLES) -> int:
    """How many inputs a fuzz target tries in this run: `ci`, unless the environment says more."""
    return int(os.environ.get("NPS_FUZZ_EXAMPLES", ci))
