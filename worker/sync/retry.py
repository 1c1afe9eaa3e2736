"""How patiently a connector retries transient failures (5xx, resets, short rate limits).

Never the daily limit: that one raises `BudgetExhausted` at once, whatever the policy says.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts per request, and an exponential delay between them."""

    attempts: int = 8
    first_delay_s: float = 0.5
    max_delay_s: float = 30.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (1-based): doubling, capped."""
        return float(min(self.max_delay_s, self.first_delay_s * 2 ** (attempt - 1)))


QUICK = RetryPolicy(attempts=2, first_delay_s=0.5, max_delay_s=0.5)
"""For a person waiting at a command: one quick retry, then say the CRM is unreachable."""
