"""A local HTTP receiver standing in for Slack and Teams incoming webhooks, on a free port."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receiver:
    """What the receiver got, and how it answers: `replies` in turn, then 200 for good."""

    url: str
    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    replies: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    hold: threading.Event = field(default_factory=threading.Event)


@contextmanager
def chat_receiver() -> Iterator[Receiver]:
    """Serve until the block ends; `hold` is set by default (answers at once)."""
    receiver = Receiver(url="")
    receiver.hold.set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.hold.wait(30)
            receiver.posts.append((self.path, json.loads(body)))
            status, headers = receiver.replies.pop(0) if receiver.replies else (200, {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.hold.set()
        server.shutdown()
        server.server_close()
