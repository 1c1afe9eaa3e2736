"""`read_ahead`: the next page is read while this one is stored, in order, errors in place."""

import contextvars
import threading
from collections.abc import Iterator

import pytest

from worker.sync.prefetch import read_ahead

WAIT_S = 5.0
CYCLE = contextvars.ContextVar("cycle", default="none")


class Source:
    """Pages 0..count-1, noting how far reading got and whether the reader closed it."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count = count
        self.fail_at = fail_at
        self.read: list[int] = []
        self.reached = {n: threading.Event() for n in range(count + 1)}
        self.closed = threading.Event()
        self.contexts: list[str] = []

    def __iter__(self) -> Iterator[int]:
        try:
            for n in range(self.count):
                if n == self.fail_at:
                    raise ConnectionError(f"page {n} could not be read")
                self.contexts.append(CYCLE.get())
                self.read.append(n)
                self.reached[n].set()
                yield n
        finally:
            self.closed.set()


class TestReadAhead:
    """Pages in order, one read ahead, errors where their page would be, early stops clean."""

    def test_every_page_in_order(self) -> None:
        """All pages arrive, in their order."""
        assert list(read_ahead(Source(50), "test")) == list(range(50))

    def test_the_next_page_is_read_while_this_one_is_stored(self) -> None:
        """Holding page 0, the caller finds page 1 already read; a few pages at most."""
        source = Source(10)
        pages = read_ahead(source, "test")
        assert next(pages) == 0
        assert source.reached[1].wait(WAIT_S)
        assert source.reached[2].wait(WAIT_S)  # page 1 handed over, page 2 read and waiting
        assert not source.reached[3].wait(0.3)  # no further: memory stays flat
        assert list(pages) == list(range(1, 10))

    def test_reading_ahead_stops_at_its_depth(self) -> None:
        """With room for 3 pages, the caller holding page 0 finds pages 1..4 read, not 5."""
        source = Source(10)
        pages = read_ahead(source, "test", depth=3)
        assert next(pages) == 0
        assert source.reached[4].wait(WAIT_S)  # 3 waiting, the 4th read and being handed over
        assert not source.reached[5].wait(0.3)
        assert list(pages) == list(range(1, 10))

    def test_an_error_comes_after_the_pages_read_before_it(self) -> None:
        """A failed read surfaces after pages 0..2, as it would without reading ahead."""
        pages = read_ahead(Source(10, fail_at=3), "test")
        assert [next(pages) for _ in range(3)] == [0, 1, 2]
        with pytest.raises(ConnectionError, match="page 3"):
            next(pages)

    def test_a_caller_that_stops_stops_the_reading(self) -> None:
        """Closing early (a store failed) closes the source; no page is read past the hand-off."""
        source = Source(100)
        pages = read_ahead(source, "test")
        assert next(pages) == 0
        pages.close()
        assert source.closed.wait(WAIT_S)
        assert len(source.read) <= 3

    def test_the_callers_context_carries_over(self) -> None:
        """Log fields bound for the cycle (context variables) are seen by the reading thread."""
        source = Source(3)
        token = CYCLE.set("cycle-7")
        try:
            assert list(read_ahead(source, "test")) == [0, 1, 2]
        finally:
            CYCLE.reset(token)
        assert source.contexts == ["cycle-7"] * 3
