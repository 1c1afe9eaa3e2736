"""Sessions end after a time without use, as an org's session timeout ends them.

Salesforce Help, "Session Security Settings": the Timeout Value (two hours unless an admin
changes it, from 15 minutes to 24 hours) ends a session that has been idle that long; a call
with an ended session gets 401 INVALID_SESSION_ID and the client must log in again. Time is the
sandbox clock's, so simulated hours end sessions the way real ones do.
"""

import threading
from datetime import datetime, timedelta

DEFAULT_TIMEOUT = timedelta(hours=2)


class SessionTimeout:
    """When each session was last used; whether it is still alive."""

    def __init__(self, timeout: timedelta | None = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._last_used: dict[str, datetime] = {}

    def touch(self, token: str, now: datetime) -> bool:
        """Record a use of `token` at `now`; False (and forgotten) when it had timed out."""
        with self._lock:
            last = self._last_used.get(token)
            if self.timeout is not None and last is not None and now - last > self.timeout:
                del self._last_used[token]
                return False
            self._last_used[token] = max(now, last) if last is not None else now
            return True
