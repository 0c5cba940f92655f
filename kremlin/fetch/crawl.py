"""The crawl: robots.txt, then the feed and the news list, then the event pages not yet held.

A run has two phases, :meth:`Crawler.discover` (which ids to fetch) and
:meth:`Crawler.fetch` (fetch them, in batches if the caller likes), so an orchestrator
can show them as steps. Every page outcome is committed to the state before the next
request, so a run killed at any point loses at most the page in flight, and the next
run neither asks again for a page already written nor writes a page twice (a page
text has one name, ``<kremlin_id>.txt``, and is replaced atomically).

Which list pages a run reads:

* default: the feed, then list pages from page 1 until one lists an id the state
  already knew when the run began (the newest part is then caught up). A first crawl
  walks on to the end of the list; if it is cut short (``--pages``, a kill, a failing
  page) the page where it stopped is remembered and the next run resumes the deep walk
  there after catching up with the head (new items only push old ones to later pages,
  so nothing is skipped).
* ``since``: list pages from page 1 until a page holds only items older than the date;
  every listed id of that date or later is fetched again.
* ``ids``: no feed or list; exactly those pages, fetched again.

``max_pages`` caps the list pages a run reads.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import httpx

from kremlin.fetch.http import PoliteClient, Politeness, Response
from kremlin.fetch.listing import FeedError, ListedItem, ListPage, parse_feed, parse_list_page
from kremlin.fetch.render import NotAnEventPage, Style, render_event_page
from kremlin.fetch.robots import Robots
from kremlin.fetch.site import PROJECT_URL, Site
from kremlin.fetch.state import TO_FETCH, FetchState, PageStatus
from kremlin.fetch.store import RawStore, text_sha256

AGENT_TOKEN = "kremlin-dataset"
try:
    _version = importlib.metadata.version(AGENT_TOKEN)
except importlib.metadata.PackageNotFoundError:  # a source tree that was never installed
    _version = "0"
USER_AGENT = f"{AGENT_TOKEN}/{_version} (+{PROJECT_URL}; polite crawler of en.kremlin.ru event pages)"

# meta keys of the state: where an unfinished deep walk of the list resumes, and
# whether the list was ever walked to its end.
_BACKLOG = "list_backlog_page"
_WALKED = "list_walked_to_end"


class _Step(StrEnum):
    NEXT = "next"
    END = "end"
    FAILED = "failed"


@dataclass
class _Budget:
    """List pages a run may still read (``--pages``)."""

    left: int | None

    def take(self) -> bool:
        if self.left is None:
            return True
        if self.left <= 0:
            return False
        self.left -= 1
        return True


class Outcome(StrEnum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    NOT_FOUND = "not_found"
    FAILED = "failed"
    DISALLOWED = "disallowed"


@dataclass(frozen=True)
class FetchOptions:
    raw_dir: Path
    site: Site = Site()
    max_pages: int | None = None
    """Cap on list pages read this run (None: as far as the mode needs)."""
    ids: tuple[int, ...] = ()
    since: dt.date | None = None
    politeness: Politeness = Politeness()
    user_agent: str = USER_AGENT

    def __post_init__(self) -> None:
        if self.ids and self.since:
            raise ValueError("give --ids or --since, not both")
        if self.max_pages is not None and self.max_pages < 0:
            raise ValueError("max_pages must be >= 0")

    @property
    def mode(self) -> str:
        return "ids" if self.ids else "since" if self.since else "new"


@dataclass
class ListStats:
    read: int = 0
    """Feed and list pages read and parsed."""
    not_modified: int = 0
    missing: int = 0
    """Answered 404/410 (page 1 of the list is missing from the replay, for one)."""
    failed: int = 0
    listed: int = 0
    """Distinct ids the feed and list pages named this run."""
    new_ids: int = 0
    """Of those, ids the state did not know."""
    errors: list[str] = field(default_factory=list)

    def count_miss(self, url: str, resp: Response) -> None:
        if resp.gone:
            self.missing += 1
        else:
            self.failed += 1
        self.errors.append(f"{url}: {resp.error}")


@dataclass(frozen=True)
class Discovery:
    targets: tuple[int, ...]
    lists: ListStats
    robots: str


@dataclass
class PageTally:
    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    failures: dict[int, str] = field(default_factory=dict)
    not_found: list[int] = field(default_factory=list)

    def add(self, kremlin_id: int, outcome: Outcome, error: str | None = None) -> None:
        self.counts[outcome] += 1
        if outcome is Outcome.FAILED:
            self.failures[kremlin_id] = error or "failed"
        elif outcome is Outcome.NOT_FOUND:
            self.not_found.append(kremlin_id)

    def merge(self, other: PageTally) -> PageTally:
        for k, v in other.counts.items():
            self.counts[k] += v
        self.failures.update(other.failures)
        self.not_found.extend(other.not_found)
        return self


@dataclass(frozen=True)
class FetchSummary:
    site: str
    mode: str
    robots: str
    pages: PageTally
    lists: ListStats
    requests: int
    retries: int
    seconds: float
    state_counts: dict[str, int]

    @property
    def new(self) -> int:
        return self.pages.counts[Outcome.NEW]

    def as_dict(self) -> dict:
        return {
            "site": self.site,
            "mode": self.mode,
            "robots": self.robots,
            **{o.value: n for o, n in self.pages.counts.items()},
            "list_pages_read": self.lists.read,
            "list_pages_not_modified": self.lists.not_modified,
            "list_pages_missing": self.lists.missing,
            "list_pages_failed": self.lists.failed,
            "ids_listed": self.lists.listed,
            "ids_new_to_state": self.lists.new_ids,
            "requests": self.requests,
            "retries": self.retries,
            "seconds": round(self.seconds, 1),
            "failed_ids": {str(k): v for k, v in sorted(self.pages.failures.items())},
            "not_found_ids": sorted(self.pages.not_found),
            "state": self.state_counts,
        }

    def rows(self) -> list[tuple[str, str]]:
        c = self.pages.counts
        return [
            ("site", self.site),
            ("mode", self.mode),
            ("robots.txt", self.robots),
            ("new pages", str(c[Outcome.NEW])),
            ("updated pages", str(c[Outcome.UPDATED])),
            ("unchanged pages", str(c[Outcome.UNCHANGED])),
            ("not found (404)", str(c[Outcome.NOT_FOUND])),
            ("failed", str(c[Outcome.FAILED])),
            ("disallowed by robots.txt", str(c[Outcome.DISALLOWED])),
            (
                "feed + list pages read / not modified / missing / failed",
                f"{self.lists.read} / {self.lists.not_modified} / {self.lists.missing} / {self.lists.failed}",
            ),
            ("requests (retries)", f"{self.requests} ({self.retries})"),
            ("seconds", f"{self.seconds:.1f}"),
            ("ids in state", ", ".join(f"{k} {v}" for k, v in self.state_counts.items()) or "none"),
        ]

    def format(self) -> str:
        width = max(len(k) for k, _ in self.rows())
        lines = ["fetch summary"] + [f"  {k.ljust(width)}  {v}" for k, v in self.rows()]
        for kid, err in sorted(self.pages.failures.items()):
            lines.append(f"  failed {kid}: {err}")
        return "\n".join(lines)

    def markdown(self) -> str:
        lines = ["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in self.rows())]
        if self.pages.failures:
            lines += ["", "Failed pages:", ""]
            lines += [f"- {kid}: {err}" for kid, err in sorted(self.pages.failures.items())]
        return "\n".join(lines)


class Crawler:
    """One fetch run over one RAW_DIR. Use as a context manager."""

    def __init__(
        self,
        options: FetchOptions,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep=time.sleep,
        clock=time.monotonic,
    ) -> None:
        self.options = options
        self.site = options.site
        self.store = RawStore(options.raw_dir)
        self._lock = self.store.lock()
        try:
            self.store.prepare()
            self.state = FetchState(self.store.state_path)
            self._reconcile()
        except BaseException:
            os.close(self._lock)
            raise
        self.client = PoliteClient(
            options.user_agent,
            options.politeness,
            same_site=self.site.same_site,
            transport=transport,
            clock=clock,
            sleep=sleep,
        )
        self.robots: Robots | None = None
        self.robots_status = "not read"
        self.tally = PageTally()
        self._started = time.monotonic()

    def __enter__(self) -> Crawler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()
        self.state.close()
        os.close(self._lock)

    def _reconcile(self) -> None:
        """Page texts already in RAW_DIR count as fetched: a run killed between writing a
        page and recording it, or a state file lost, costs no request."""
        for kid in self.store.text_ids():
            rec = self.state.get(kid)
            if rec is None or rec.status is not PageStatus.FETCHED:
                text = self.store.read_text(kid) or ""
                self.state.record(kid, PageStatus.FETCHED, text_sha256=text_sha256(text))

    # robots.txt ----------------------------------------------------------

    def read_robots(self) -> Robots:
        resp = self.client.get(self.site.robots_url)
        text = resp.body.decode("utf-8", errors="replace") if resp.ok else ""
        self.robots = Robots.from_response(resp.status, text, AGENT_TOKEN)
        if resp.ok:
            self.robots_status = "read"
        elif resp.status is not None and 400 <= resp.status < 500:
            self.robots_status = f"absent (HTTP {resp.status}): everything allowed"
        else:
            self.robots_status = f"unreachable ({resp.error}): nothing fetched"
        delay = self.robots.crawl_delay()
        if delay is not None:
            self.client.set_delay(delay)
        return self.robots

    def allowed(self, url: str) -> bool:
        return self.robots is not None and self.robots.allowed(url)

    # discovery -------------------------------------------------------------

    def _conditional_get(self, url: str) -> tuple[Response, bytes | None, tuple[int, ...] | None]:
        """GET with the validators of the last read; the body, or the stored ids on 304."""
        known = self.state.validators(url)
        resp = self.client.get(
            url,
            etag=known.etag if known else None,
            last_modified=known.last_modified if known else None,
            allowed=self.allowed,
        )
        if resp.not_modified and known is not None:
            self.state.touch(url, 304)
            return resp, None, known.ids
        return resp, (resp.body if resp.ok else None), None

    def _see(self, items: Iterable[ListedItem], stats: ListStats, seen: set[int]) -> None:
        for item in items:
            if item.kremlin_id not in seen:
                seen.add(item.kremlin_id)
                stats.listed += 1
            if self.state.see(item.kremlin_id, item.published):
                stats.new_ids += 1

    def _read_feed(self, stats: ListStats, seen: set[int]) -> None:
        url = self.site.feed_url
        if not self.allowed(url):
            return
        resp, body, cached = self._conditional_get(url)
        if cached is not None:
            stats.not_modified += 1
            return
        if body is None:
            stats.count_miss(url, resp)
            return
        try:
            items = parse_feed(body)
        except FeedError as exc:
            stats.failed += 1
            stats.errors.append(f"{url}: not a feed ({exc})")
            return
        stats.read += 1
        self._see(items, stats, seen)
        self.state.remember(
            url, resp.status or 200, resp.etag, resp.last_modified, [i.kremlin_id for i in items]
        )

    def _read_list_page(
        self, page: int, stats: ListStats, seen: set[int]
    ) -> tuple[bool, ListPage | None, tuple[int, ...]]:
        """(answered, parsed page or None if not modified, its ids)."""
        url = self.site.list_url(page)
        if not self.allowed(url):
            stats.failed += 1
            stats.errors.append(f"{url}: disallowed by robots.txt")
            return False, None, ()
        resp, body, cached = self._conditional_get(url)
        if cached is not None:
            stats.not_modified += 1
            return True, None, cached
        if body is None:
            stats.count_miss(url, resp)
            return resp.gone, None, ()
        parsed = parse_list_page(body)
        stats.read += 1
        self._see(parsed.items, stats, seen)
        self.state.remember(url, resp.status or 200, resp.etag, resp.last_modified, parsed.ids)
        return True, parsed, parsed.ids

    def discover(self) -> Discovery:
        """Read robots.txt, the feed and the list; return the ids this run fetches."""
        self.read_robots()
        stats = ListStats()
        if self.robots is None or self.robots.unreachable:
            return Discovery((), stats, self.robots_status)
        mode = self.options.mode
        if mode == "ids":
            for kid in self.options.ids:
                self.state.see(kid, None)
            return Discovery(tuple(dict.fromkeys(self.options.ids)), stats, self.robots_status)
        seen: set[int] = set()
        if mode == "since":
            since = self.options.since
            assert since is not None
            self._walk_since(since, stats, seen)
            return Discovery(tuple(self.state.ids_since(since)), stats, self.robots_status)
        known_before = self.state.known_ids()
        self._read_feed(stats, seen)
        self._walk_new(known_before, stats, seen)
        return Discovery(tuple(self.state.ids_with(TO_FETCH)), stats, self.robots_status)

    def _walk_new(self, known_before: set[int], stats: ListStats, seen: set[int]) -> None:
        budget = _Budget(self.options.max_pages)
        first_crawl = self.state.get_meta(_WALKED) is None and self.state.get_meta(_BACKLOG) is None
        # Head: the newest list pages, until one names an id known before this run. On
        # the first crawl there is none: the head walk is the deep walk.
        page = 1
        while True:
            if not budget.take():
                return
            step, ids = self._list_step(page, stats, seen)
            if step is _Step.FAILED:
                return  # next run reads this page again (the head, or the backlog it stays at)
            if step is _Step.END:
                self._list_done()  # walked from the top to the end: nothing left behind
                return
            if first_crawl:
                self.state.set_meta(_BACKLOG, str(page + 1))
            elif known_before.intersection(ids):
                break
            page += 1
        # Deep: resume an unfinished first crawl where it stopped (or past the head, if
        # the head went further).
        backlog = self.state.get_meta(_BACKLOG)
        if backlog is None:
            return
        page = max(int(backlog), page + 1)
        while budget.take():
            step, _ = self._list_step(page, stats, seen)
            if step is _Step.FAILED:
                return
            if step is _Step.END:
                self._list_done()
                return
            page += 1
            self.state.set_meta(_BACKLOG, str(page))

    def _list_step(self, page: int, stats: ListStats, seen: set[int]) -> tuple[_Step, tuple[int, ...]]:
        """Read list page ``page``: what the walk does next, and the ids the page names."""
        answered, parsed, ids = self._read_list_page(page, stats, seen)
        if page == 1 and not ids:
            # Page 1 is the list's own path; if it cannot be read the list still goes on
            # at page 2 (and the feed holds the newest items).
            return _Step.NEXT, ids
        if not answered:
            return _Step.FAILED, ids
        if not ids or (parsed is not None and parsed.is_last):
            return _Step.END, ids  # a 404 or an empty page past the first, or the last page
        return _Step.NEXT, ids

    def _list_done(self) -> None:
        self.state.set_meta(_BACKLOG, None)
        self.state.set_meta(_WALKED, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def _walk_since(self, since: dt.date, stats: ListStats, seen: set[int]) -> None:
        self._read_feed(stats, seen)
        budget = _Budget(self.options.max_pages)
        page = 1
        while budget.take():
            answered, parsed, ids = self._read_list_page(page, stats, seen)
            if not ids:
                if page == 1:
                    page += 1
                    continue
                return
            dates = [rec.listed_date for kid in ids if (rec := self.state.get(kid)) and rec.listed_date]
            if dates and max(dates) < since:
                return
            if parsed is not None and parsed.is_last:
                return
            page += 1

    # event pages -----------------------------------------------------------

    def fetch(self, ids: Iterable[int]) -> PageTally:
        """Fetch these event pages, one at a time; each outcome is committed before the next."""
        tally = PageTally()
        for kid in ids:
            outcome, error = self._fetch_one(kid)
            tally.add(kid, outcome, error)
        self.tally.merge(tally)
        return tally

    def _fetch_one(self, kid: int) -> tuple[Outcome, str | None]:
        url = self.site.event_url(kid)
        if not self.allowed(url):
            self.state.record(kid, PageStatus.DISALLOWED, error="disallowed by robots.txt")
            return Outcome.DISALLOWED, None
        resp = self.client.get(url, allowed=self.allowed)
        if resp.gone:
            self.state.record(kid, PageStatus.NOT_FOUND, attempts=resp.attempts, http_status=resp.status)
            return Outcome.NOT_FOUND, None
        if not resp.ok:
            self.state.record(
                kid, PageStatus.FAILED, attempts=resp.attempts, http_status=resp.status, error=resp.error
            )
            return Outcome.FAILED, resp.error
        try:
            text = render_event_page(resp.body, Style.PAGE)
        except NotAnEventPage as exc:
            error = f"not an event page: {exc}"
            self.state.record(
                kid, PageStatus.FAILED, attempts=resp.attempts, http_status=resp.status, error=error
            )
            return Outcome.FAILED, error
        sha = text_sha256(text)
        before = self.store.read_text(kid)
        if before is not None and text_sha256(before) == sha:
            outcome = Outcome.UNCHANGED  # leave the file (and its mtime) alone
        else:
            self.store.write_page(kid, resp.body, text)
            outcome = Outcome.NEW if before is None else Outcome.UPDATED
        self.state.record(
            kid, PageStatus.FETCHED, attempts=resp.attempts, http_status=resp.status, text_sha256=sha
        )
        return outcome, None

    # summary ---------------------------------------------------------------

    def summary(self, discovery: Discovery) -> FetchSummary:
        return FetchSummary(
            site=self.site.base,
            mode=self.options.mode,
            robots=discovery.robots,
            pages=self.tally,
            lists=discovery.lists,
            requests=self.client.log.requests,
            retries=self.client.log.retries,
            seconds=time.monotonic() - self._started,
            state_counts=self.state.counts(),
        )


def run_fetch(options: FetchOptions, **crawler_kwargs) -> FetchSummary:
    """A whole fetch run (for the command line; the Prefect flow calls the phases itself)."""
    with Crawler(options, **crawler_kwargs) as crawler:
        discovery = crawler.discover()
        crawler.fetch(discovery.targets)
        return crawler.summary(discovery)
