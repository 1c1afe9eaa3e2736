"""The sandbox in a child process, so a benchmark's time and memory are the worker's alone.

If the child dies (a crash while loading, say), the benchmark stops with its exit code
instead of waiting forever for a message that will never come.
"""

import multiprocessing as mp
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

from worker.sandbox.server import Sandbox

Prepare = Callable[[Sandbox], None]
Summarise = Callable[[Sandbox], Any]


def _serve(
    options: dict[str, Any], prepare: Prepare, summarise: Summarise, pipe: Connection
) -> None:
    """Child process: start the sandbox, say where it is, summarise it when told to stop."""
    sandbox = Sandbox(**options)
    prepare(sandbox)
    sandbox.start()
    pipe.send((sandbox.base_url, str(sandbox.ca_path)))
    pipe.recv()
    summary = summarise(sandbox)
    sandbox.stop()
    pipe.send(summary)


def _unchanged(_sandbox: Sandbox) -> None:
    """No preparation beyond the options."""


class SandboxProcess:
    """A sandbox served by a child process; `stop()` returns `summarise(sandbox)` from it."""

    def __init__(self, summarise: Summarise, prepare: Prepare = _unchanged, **options: Any) -> None:
        self._parent, child = mp.Pipe()
        self._process = mp.get_context("spawn").Process(
            target=_serve, args=(options, prepare, summarise, child), daemon=True
        )
        self.base_url = ""
        self.ca_path = Path()

    def __enter__(self) -> "SandboxProcess":
        self._process.start()
        base_url, ca_path = self._receive()
        self.base_url, self.ca_path = base_url, Path(ca_path)
        return self

    def stop(self) -> Any:
        """Stop the sandbox and return its summary."""
        self._parent.send("stop")
        summary = self._receive()
        self._process.join(timeout=60)
        return summary

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(timeout=10)

    def _receive(self) -> Any:
        while not self._parent.poll(1.0):
            if not self._process.is_alive():
                self._died()
        try:
            return self._parent.recv()
        except EOFError:
            self._process.join(timeout=10)
            self._died()

    def _died(self) -> NoReturn:
        raise SystemExit(f"the sandbox process died (exit code {self._process.exitcode})")
