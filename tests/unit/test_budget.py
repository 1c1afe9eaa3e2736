"""The API budget keeps calls inside the configured share of the daily allocation (promise 8)."""

import pytest

from worker.sync.base import BudgetExhausted, Priority
from worker.sync.budget import ApiBudget


class TestApiBudget:
    """Shares per priority, measured against what the CRM last reported."""

    def test_unknown_usage_allows_the_first_call(self) -> None:
        """Before the CRM has reported anything there is nothing to enforce."""
        ApiBudget("salesforce").check(Priority.NORMAL)

    @pytest.mark.parametrize(
        ("used", "priority", "calls", "allowed"),
        [
            pytest.param(49_999, Priority.NORMAL, 1, True, id="normal-last-call"),
            pytest.param(50_000, Priority.NORMAL, 1, False, id="normal-share-spent"),
            pytest.param(49_990, Priority.NORMAL, 20, False, id="batch-would-cross"),
            pytest.param(50_000, Priority.ESSENTIAL, 1, True, id="essential-goes-on"),
            pytest.param(80_000, Priority.ESSENTIAL, 1, False, id="essential-share-spent"),
        ],
    )
    def test_shares(self, used: int, priority: Priority, calls: int, allowed: bool) -> None:
        """Normal work stops at 50%, essential work at 80% of a 100,000-call allocation."""
        budget = ApiBudget("salesforce", normal_share=0.5, essential_share=0.8)
        budget.observe(used=used, limit=100_000)
        if allowed:
            budget.check(priority, calls)
        else:
            with pytest.raises(BudgetExhausted) as info:
                budget.check(priority, calls)
            assert info.value.code == "BUDGET_SHARE_REACHED"
            assert info.value.crm == "salesforce"

    @pytest.mark.parametrize(
        ("normal", "essential"),
        [pytest.param(0.0, 0.5, id="zero"), pytest.param(0.9, 0.8, id="inverted")],
    )
    def test_bad_shares_are_refused(self, normal: float, essential: float) -> None:
        """Shares must be positive and essential at least as large as normal."""
        with pytest.raises(ValueError, match="budget shares"):
            ApiBudget("hubspot", normal, essential)
