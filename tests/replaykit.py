"""A local stand-in for en.kremlin.ru: serves ../shared/replay/en.kremlin.ru on 127.0.0.1.

The URL path is the file path (the mirror's files have no extension); anything else is
404, as the live site answers for a page it does not have. On top of the files a test
can replace robots.txt or a page, make a path answer 429 a few times, or make it hang
longer than the client's timeout. Every request is logged with its arrival time.
"""

from __future__ import annotations

import email.utils
import hashlib
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
REPLAY = ROOT.parent / "shared" / "replay" / "en.kremlin.ru"
NEWS = "/events/president/news"


@dataclass(frozen=True)
class Hit:
    at: float
    """time.monotonic() when the request arrived."""
    done: float
    """time.monotonic() just before the answer was sent (the client has it only later)."""
    path: str
    status: int
    user_agent: str
    conditional: bool


@dataclass
class Behaviour:
    throttle: dict[str, int] = field(default_factory=dict)
    """path -> how many more times to answer 429 with Retry-After."""
    retry_after: str = "1"
    hang: dict[str, float] = field(default_factory=dict)
    """path -> seconds to wait before answering (longer than the client's timeout)."""
    replace: dict[str, bytes] = field(default_factory=dict)
    """path -> body served instead of the file (robots.txt, a corrected page)."""


class ReplaySite:
    def __init__(self, root: Path = REPLAY) -> None:
        self.root = root
        self.behaviour = Behaviour()
        self.hits: list[Hit] = []
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                # Headers and body go out as separate writes: without this, Nagle's
                # algorithm and the client's delayed ACK stall every answer by ~40 ms.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format, *args):  # quiet
                pass

            def do_GET(self):
                site._serve(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> ReplaySite:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    # what tests look at ---------------------------------------------------

    def paths(self, prefix: str = "") -> list[str]:
        with self._lock:
            return [h.path for h in self.hits if h.path.startswith(prefix)]

    def event_hits(self) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path.rsplit("/", 1)[-1].isdigit() and "/page/" not in h.path]

    def clear(self) -> None:
        with self._lock:
            self.hits.clear()

    # serving ----------------------------------------------------------------

    def _body(self, path: str) -> bytes | None:
        if path in self.behaviour.replace:
            return self.behaviour.replace[path]
        f = (self.root / path.lstrip("/")).resolve()
        if not f.is_relative_to(self.root.resolve()) or not f.is_file():
            return None
        return f.read_bytes()

    def _serve(self, req: BaseHTTPRequestHandler) -> None:
        at = time.monotonic()
        path = urlsplit(req.path).path
        conditional = bool(req.headers.get("If-None-Match") or req.headers.get("If-Modified-Since"))
        headers: dict[str, str] = {}
        with self._lock:
            throttled = self.behaviour.throttle.get(path, 0)
            if throttled:
                self.behaviour.throttle[path] = throttled - 1
        hang = self.behaviour.hang.get(path)
        if hang:
            time.sleep(hang)
        if throttled:
            status, body = 429, b"slow down"
            headers["Retry-After"] = self.behaviour.retry_after
        else:
            body = self._body(path)
            if body is None:
                status, body = 404, b"not found"
            else:
                etag = '"' + hashlib.sha1(body).hexdigest() + '"'
                headers["ETag"] = etag
                headers["Last-Modified"] = email.utils.formatdate(0, usegmt=True)
                if req.headers.get("If-None-Match") == etag:
                    status, body = 304, b""
                else:
                    status = 200
        answering = time.monotonic()
        try:
            req.send_response(status)
            ctype = (
                "application/atom+xml"
                if path.endswith("/feed")
                else "text/plain"
                if path.endswith(".txt")
                else "text/html"
            )
            req.send_header("Content-Type", f"{ctype}; charset=utf-8")
            req.send_header("Content-Length", str(len(body)))
            for k, v in headers.items():
                req.send_header(k, v)
            req.end_headers()
            req.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
            pass
        with self._lock:
            self.hits.append(Hit(at, answering, path, status, req.headers.get("User-Agent", ""), conditional))


def replay_available() -> bool:
    return (REPLAY / "robots.txt").is_file()


def listed_and_available() -> tuple[set[int], set[int]]:
    """Ids the feed and list pages name, and ids with a page in the replay (from the files)."""
    from kremlin.fetch.listing import parse_feed, parse_list_page

    news = REPLAY / NEWS.lstrip("/")
    listed = {i.kremlin_id for i in parse_feed((news / "feed").read_bytes())}
    for page in sorted((news / "page").iterdir()):
        listed |= set(parse_list_page(page.read_bytes()).ids)
    available = {int(p.name) for p in news.iterdir() if p.name.isdigit()}
    return listed, available
