"""Read the next page while the caller stores this one, so a paced pull's store work overlaps
its wait for the CRM instead of following it.

A pull paced by the CRM's rate limit spends most of each page's slot waiting for its turn; a
slow store of one page (a busy database or core) would otherwise push the next call past its
slot and lose it for good. At most `depth` pages wait in the hand-off (memory stays flat in the
size of the pull), pages come out in order, and an error met while reading comes out where its
page would have: after every page read before it, so those are stored first.
"""

import contextvars
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar, cast

T = TypeVar("T")

_POLL_S = 0.1
"""How often a reader blocked on a full hand-off checks whether the caller stopped."""


class _Done:
    """The reader's last word: the source is exhausted."""


Handoff = tuple[object] | BaseException | _Done


def read_ahead(source: Iterable[T], name: str, depth: int = 1) -> Iterator[T]:
    """`source`'s items in order, read up to `depth` ahead on a thread called `name`.

    The thread runs in a copy of the caller's context (log fields bound by the cycle stay on
    its lines). When the caller stops early (closes this generator, or raises), the thread
    stops after the call it is in and closes `source`; nobody waits for that call.
    """
    handoff: queue.Queue[Handoff] = queue.Queue(maxsize=depth)
    stopped = threading.Event()

    def read() -> None:
        items = iter(source)
        try:
            for item in items:
                if not _put(handoff, (item,), stopped):
                    return
        except BaseException as error:  # noqa: BLE001 - raised again by the caller's thread
            _put(handoff, error, stopped)
            return
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
        _put(handoff, _Done(), stopped)

    thread = threading.Thread(
        target=contextvars.copy_context().run, args=(read,), name=name, daemon=True
    )
    thread.start()
    try:
        while True:
            entry = handoff.get()
            if isinstance(entry, _Done):
                return
            if isinstance(entry, BaseException):
                raise entry
            yield cast(T, entry[0])
    finally:
        stopped.set()


def _put(handoff: "queue.Queue[Handoff]", entry: Handoff, stopped: threading.Event) -> bool:
    """Hand `entry` over once there is room; False when the caller stopped first."""
    while not stopped.is_set():
        try:
            handoff.put(entry, timeout=_POLL_S)
        except queue.Full:
            continue
        return True
    return False
