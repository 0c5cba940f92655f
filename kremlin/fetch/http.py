"""A polite HTTP client: one request at a time, a delay between requests, bounded retries.

* At least ``delay`` seconds pass between the end of one request and the start of the
  next (retries and redirects included), so the site never sees two at once.
* 429 and 503 are retried after ``Retry-After`` (seconds or an HTTP date) when the
  site sends one, else after an exponential backoff; other 5xx, timeouts and network
  errors after the backoff. A wait longer than ``max_wait`` is not sat out: the URL
  is given up for this run (the next run asks again).
* At most ``max_attempts`` requests per URL; then the last outcome is returned.
* Redirects are followed by hand (at most 5), only on the same site and only where
  ``allowed`` (robots.txt) says so, each hop throttled like any request.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

RETRY_AFTER_STATUSES = frozenset({429, 503})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_REDIRECTS = 5
MIN_DELAY = 1.0
"""The least delay the command line accepts: the site is a public service, not a test server."""


@dataclass(frozen=True)
class Politeness:
    delay: float = MIN_DELAY
    """Seconds between the end of one request and the start of the next."""
    timeout: float = 30.0
    """Connect/read/write timeout of one request, in seconds."""
    max_attempts: int = 4
    backoff: float = 2.0
    """First retry wait without Retry-After; doubles with each attempt."""
    max_wait: float = 600.0
    """Longest Retry-After or backoff sat out; a longer one gives the URL up for this run."""


@dataclass(frozen=True)
class Response:
    url: str
    status: int | None
    """None: no HTTP answer (timeout, refused connection ...)."""
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    attempts: int = 1
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def gone(self) -> bool:
        return self.status in (404, 410)


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now (RFC 9110: delay-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


@dataclass
class RequestLog:
    """Counts of what the client did (for the fetch summary)."""

    requests: int = 0
    retries: int = 0
    waited_seconds: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)

    def count(self, status: int | None) -> None:
        self.requests += 1
        key = str(status) if status is not None else "error"
        self.statuses[key] = self.statuses.get(key, 0) + 1


class PoliteClient:
    def __init__(
        self,
        user_agent: str,
        politeness: Politeness = Politeness(),
        *,
        same_site: Callable[[str], bool] = lambda url: True,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.politeness = politeness
        self.same_site = same_site
        self.log = RequestLog()
        self._clock = clock
        self._sleep = sleep
        self._next_at = 0.0
        self._http = httpx.Client(
            headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(politeness.timeout),
            follow_redirects=False,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def set_delay(self, delay: float) -> None:
        """A longer delay asked for by the site (robots.txt Crawl-delay)."""
        if delay > self.politeness.delay:
            self.politeness = Politeness(**{**self.politeness.__dict__, "delay": delay})

    def _wait_turn(self) -> None:
        pause = self._next_at - self._clock()
        if pause > 0:
            self.log.waited_seconds += pause
            self._sleep(pause)

    def _once(self, url: str, headers: dict[str, str]) -> httpx.Response | Exception:
        self._wait_turn()
        try:
            return self._http.get(url, headers=headers)
        except httpx.HTTPError as exc:
            return exc
        finally:
            self._next_at = self._clock() + self.politeness.delay

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        allowed: Callable[[str], bool] = lambda url: True,
    ) -> Response:
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        p = self.politeness
        attempt = 0
        redirects = 0
        while True:
            attempt += 1
            result = self._once(url, headers)
            if isinstance(result, Exception):
                self.log.count(None)
                outcome = Response(url, None, attempts=attempt, error=f"{type(result).__name__}: {result}")
                wait = p.backoff * 2 ** (attempt - 1)
            else:
                self.log.count(result.status_code)
                if result.is_redirect and redirects < MAX_REDIRECTS:
                    target = str(result.next_request.url) if result.next_request else ""
                    if target and self.same_site(target) and allowed(target):
                        url, redirects, attempt = target, redirects + 1, attempt - 1
                        continue
                error = None
                if result.is_redirect:
                    error = f"HTTP {result.status_code}: redirect to {result.headers.get('Location')} not followed"
                elif result.status_code >= 400:
                    error = f"HTTP {result.status_code}"
                outcome = Response(
                    url,
                    result.status_code,
                    result.content,
                    result.headers.get("ETag"),
                    result.headers.get("Last-Modified"),
                    attempts=attempt,
                    error=error,
                )
                if result.status_code not in RETRY_STATUSES:
                    return outcome
                asked = None
                if result.status_code in RETRY_AFTER_STATUSES:
                    asked = retry_after_seconds(result.headers.get("Retry-After"))
                wait = asked if asked is not None else p.backoff * 2 ** (attempt - 1)
            if attempt >= p.max_attempts:
                return outcome
            if wait > p.max_wait:
                return Response(
                    outcome.url,
                    outcome.status,
                    attempts=attempt,
                    error=f"{outcome.error}; asked to wait {wait:g} s (> {p.max_wait:g} s): given up this run",
                )
            self.log.retries += 1
            # The wait counts from now; the usual delay still applies on top if it is longer.
            self._next_at = max(self._next_at, self._clock() + wait)
