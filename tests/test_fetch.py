"""The fetcher: rendering, list/feed parsing, politeness, state, and crawls of a local replay.

Unit tests run on small snippets. The crawl tests serve ../shared/replay/en.kremlin.ru on
127.0.0.1 (tests/replaykit.py) and compare what they fetch with ../shared/corpus; they
skip when either is absent. Nothing here touches the network beyond 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from kremlin.fetch.crawl import FetchOptions, Outcome, run_fetch
from kremlin.fetch.http import PoliteClient, Politeness, retry_after_seconds
from kremlin.fetch.listing import parse_feed, parse_list_page
from kremlin.fetch.options import make_options
from kremlin.fetch.render import NBSP, NotAnEventPage, Style, render_event_page
from kremlin.fetch.robots import Robots
from kremlin.fetch.site import Site, event_id_from_link
from kremlin.fetch.state import FetchState, PageStatus
from kremlin.fetch.store import RawStore
from kremlin.layout import FETCH_HTML_DIR, FETCH_STATE_DIR
from tests.conftest import CORPUS
from tests.replaykit import NEWS, REPLAY, ReplaySite, listed_and_available, replay_available

ROOT = Path(__file__).resolve().parents[1]
DELAY = 0.03
"""Seconds between requests in the crawl tests (the command line's minimum is 1 s)."""
FAST = Politeness(delay=DELAY, timeout=2.0, max_attempts=3, backoff=0.05, max_wait=5.0)

_skip_without_replay = pytest.mark.skipif(
    not replay_available() or not (CORPUS / "labels.jsonl").is_file(),
    reason=f"replay or corpus not found ({REPLAY}, {CORPUS}: ../shared from the repo root)",
)


def needs_replay(test):
    """Needs ../shared/replay and ../shared/corpus: skipped with a message when absent."""
    return pytest.mark.corpus(_skip_without_replay(test))


# --------------------------------------------------------------------------- rendering


def _article(body: str, footer: str = "") -> str:
    return f"""<html><head><title>x</title><script>var a = "<p>no</p>";</script></head><body>
    <div class="read__tabs">Share</div>
    <article class="read__in hentry" id="event-7"><div class="read__top">
    <a class="read__categ" href="/events/president/news">Events</a>
    <h1 class="entry-title">Meeting with the{NBSP}Governor</h1>
    <div class="read__meta"><time datetime="2020-07-08">July 8, 2020</time> <div class="read__time">15:30</div></div>
    </div><div class="entry-content">{body}</div>
    <div class="read__status"><h3>Publication status</h3>
    {footer}<p class="print_link_wrap"> Direct link: <a href="http://en.kremlin.ru/d/7">en.kremlin.ru/d/7</a> </p>
    <p> <a class="text_version_link" href="/copy/7">Text version</a> </p></div></article></body></html>"""


HEAD = ["Events", f"Meeting with the{NBSP}Governor", "July 8, 2020", "15:30"]
TAIL = ["Publication status", "Direct link: en.kremlin.ru/d/7", "Text version"]
TOOLTIP = '<span class="read__tooltip hidden"> <span class="tooltip_title">Pamfilova Ella</span> bio </span>'


@pytest.mark.parametrize(
    ("body", "lines"),
    [
        # white space collapses as in a browser, line breaks in the source are spaces
        ("<p>Good\n   afternoon,   <b>Mr</b> President.</p>", ["Good afternoon, Mr President."]),
        # a person link's hidden tooltip ends the line: the corpus's `Name` / `: text`
        (
            f'<p><b>Chairperson <a class="person_tag">Ella Pamfilova{TOOLTIP}</a>:</b> Good afternoon.</p>',
            ["Chairperson Ella Pamfilova", ": Good afternoon."],
        ),
        # U+00A0 is not white space to collapse: a line can start with it
        (f"<p><a>SCO{TOOLTIP}</a>{NBSP}and BRICS.</p>", ["SCO", f"{NBSP}and BRICS."]),
        ("<p>one<br>two<br/> three</p>", ["one", "two", "three"]),
        ("<p>   </p><div><p>a</p>b</div>", ["a", "b"]),
        # a photo slider: `K of N` (the starting slide) and that slide's caption
        (
            '<div class="slider"><div class="slide" data-cycle-desc="First."><img alt="x"></div>'
            '<div class="slide starting-slide" data-cycle-desc="Second."></div>'
            '<div class="slider__description"><div class="slider_caption"></div></div></div><p>Text.</p>',
            ["2 of 2", "Second.", "Text."],
        ),
        ('<div class="slider"><div class="slide" data-cycle-desc=""></div></div>', ["1 of 1"]),
        # "See also": title, date, file size each on a line
        (
            '<div class="read__cut"><h3 class="cut__title">See also</h3><div class="cut__description">'
            '<a class="cut__item cut__link" href="1.html">Report</a> <a class="cut__meta">'
            '<span class="file_format">doc,</span> <span>65.0&nbsp;kB</span></a>'
            '<div class="cut__date">July 9, 2020</div></div></div>',
            ["See also", "Report", f"doc, 65.0{NBSP}kB", "July 9, 2020"],
        ),
        # tags folded behind "N more" are not shown
        (
            '<ul><li>Culture</li><li class="hidden">Sport</li><li class="read__tagsmore"><a>1 more</a></li></ul>',
            ["Culture", "1 more"],
        ),
    ],
)
def test_render_page_style(body: str, lines: list[str]) -> None:
    assert render_event_page(_article(body)) == "\n".join(HEAD + lines + TAIL)


def test_render_screen_style_drops_nbsp_and_print_link() -> None:
    html = _article(f"<p>President of{NBSP}Russia</p><p>{NBSP}</p>")
    assert render_event_page(html, Style.PAGE) == "\n".join(HEAD + [f"President of{NBSP}Russia", NBSP] + TAIL)
    # a line that is only U+00A0 is blank on screen
    assert render_event_page(html, Style.SCREEN) == "\n".join(
        [
            "Events",
            "Meeting with the Governor",
            "July 8, 2020",
            "15:30",
            "President of Russia",
            "Publication status",
            "Text version",
        ]  # fmt: skip
    )


def test_render_bad_bytes_and_no_article() -> None:
    assert "\ufffd" in render_event_page(_article("<p>bad \xff byte</p>").encode("latin-1"))
    with pytest.raises(NotAnEventPage):
        render_event_page(b"<html><body><h1>404 Not Found</h1></body></html>")


# --------------------------------------------------------------------------- listing


@pytest.mark.parametrize(
    ("href", "kid"),
    [
        ("../63523.html", 63523),
        ("/events/president/news/63523", 63523),
        ("http://en.kremlin.ru/events/president/news/63523/", 63523),
        ("https://en.kremlin.ru/events/president/news/63523?x=1#top", 63523),
        ("/events/president/news/page/3", 3),  # a bare number is an id; list pages carry data-id
        ("/events/president/news", None),
        ("", None),
    ],
)
def test_event_id_from_link(href: str, kid: int | None) -> None:
    assert event_id_from_link(href) == kid


def test_parse_list_page_by_data_id_and_links() -> None:
    html = """<div class="entry-content lister-page" data-url-template="/events/president/news/page/PAGE"
      data-page="3" data-pages="1198">
      <div class="hentry" data-id="63882"><a href="../63882.html" rel="bookmark">A</a>
        <time datetime="2020-08-12">August 12, 2020, 17:40</time></div>
      <div class="hentry"><a href="/events/president/news/63881" rel="bookmark">B</a></div>
      <div class="hentry" data-id="63882"><a href="../63882.html">dup</a></div>
      <div class="other" data-id="1"></div></div>
      <a rel="next" href="4.html">next</a>"""
    page = parse_list_page(html)
    assert page.ids == (63882, 63881)
    assert page.items[0].published == dt.date(2020, 8, 12) and page.items[1].published is None
    assert (page.page, page.pages, page.next_href, page.is_last) == (3, 1198, "4.html", False)
    last = parse_list_page('<div data-page="5" data-pages="5"><div class="hentry" data-id="2"></div></div>')
    assert last.is_last


def test_parse_feed() -> None:
    xml = """<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">
      <entry><id>http://en.kremlin.ru/events/president/news/63953</id>
        <published>2020-08-27T15:20:00+04:00</published>
        <link href="http://en.kremlin.ru/events/president/news/63953" rel="alternate"/></entry>
      <entry><id>tag:x</id><link href="/events/president/news/63951"/></entry></feed>"""
    items = parse_feed(xml)
    assert [(i.kremlin_id, i.published) for i in items] == [(63953, dt.date(2020, 8, 27)), (63951, None)]


# --------------------------------------------------------------------------- politeness


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("1", 1.0), (" 120 ", 120.0), ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0), ("soon", None), (None, None)],
)
def test_retry_after(value: str | None, seconds: float | None) -> None:
    now = dt.datetime(2015, 10, 21, 7, 28, 0, tzinfo=dt.UTC)
    assert retry_after_seconds(value, now) == seconds


def test_robots_missing_allows_unreachable_forbids() -> None:
    text = "User-agent: *\nDisallow: /events/president/news/copy\nCrawl-delay: 3\n"
    robots = Robots.from_text(text, "kremlin-dataset")
    assert robots.allowed("https://en.kremlin.ru/events/president/news/1")
    assert not robots.allowed("https://en.kremlin.ru/events/president/news/copy/1")
    assert robots.crawl_delay() == 3.0
    assert Robots.from_response(404, "", "a").allowed("https://x/anything")
    assert not Robots.from_response(503, "", "a").allowed("https://x/anything")
    assert not Robots.from_response(None, "", "a").allowed("https://x/anything")


def test_delay_below_one_second_only_for_a_local_site(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        make_options(tmp_path, "https://en.kremlin.ru", delay=0.5)
    assert make_options(tmp_path, "http://127.0.0.1:8000", delay=0.01).politeness.delay == 0.01
    assert make_options(tmp_path, "https://en.kremlin.ru").politeness.delay == 1.0


def _client(handler, politeness: Politeness, clock: list[float]) -> PoliteClient:
    """A client on a mock transport and a fake clock: sleeping advances the clock."""

    def sleep(s: float) -> None:
        clock[0] += s

    return PoliteClient(
        "test-agent", politeness, transport=httpx.MockTransport(handler), clock=lambda: clock[0], sleep=sleep
    )


def test_client_waits_retry_after_then_backs_off_and_gives_up() -> None:
    clock = [0.0]
    seen: list[tuple[float, str]] = []
    answers = {"/a": [429, 200], "/b": [500, 500, 500], "/c": [503]}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((clock[0], request.url.path))
        status = answers[request.url.path].pop(0)
        headers = {"Retry-After": "7"} if status == 429 else {"Retry-After": "9999"} if status == 503 else {}
        return httpx.Response(status, headers=headers, content=b"ok")

    client = _client(handler, Politeness(delay=1.0, max_attempts=3, backoff=2.0, max_wait=60), clock)
    assert client.get("http://x/a").status == 200
    assert client.get("http://x/b").status == 500
    c = client.get("http://x/c")
    assert c.status == 503 and "given up" in (c.error or "")
    times = [t for t, _ in seen]
    # Retry-After 7 s; then 1 s delay; backoff 2 s, 4 s; then 1 s delay before /c.
    assert times == [0.0, 7.0, 8.0, 10.0, 14.0, 15.0]
    assert client.log.requests == 6 and client.log.retries == 3


def test_client_retries_timeouts_a_bounded_number_of_times() -> None:
    clock = [0.0]
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        raise httpx.ReadTimeout("timed out", request=request)

    client = _client(handler, Politeness(delay=1.0, max_attempts=4, backoff=0.5), clock)
    r = client.get("http://x/slow")
    assert r.status is None and "ReadTimeout" in (r.error or "") and r.attempts == 4
    assert len(calls) == 4


def test_client_follows_redirects_only_on_site_and_where_allowed() -> None:
    clock = [0.0]
    seen: list[str] = []
    moves = {"/old": "http://x/new", "/away": "http://elsewhere/new", "/hidden": "http://x/search"}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path in moves:
            return httpx.Response(301, headers={"Location": moves[request.url.path]})
        return httpx.Response(200, content=b"here")

    client = PoliteClient(
        "test-agent",
        Politeness(delay=1.0),
        same_site=lambda url: url.startswith("http://x/"),
        transport=httpx.MockTransport(handler),
        clock=lambda: clock[0],
        sleep=lambda s: clock.__setitem__(0, clock[0] + s),
    )
    allowed = lambda url: "/search" not in url  # noqa: E731
    moved = client.get("http://x/old", allowed=allowed)
    assert (moved.status, moved.url, moved.body) == (200, "http://x/new", b"here")
    away, hidden = (
        client.get("http://x/away", allowed=allowed),
        client.get("http://x/hidden", allowed=allowed),
    )
    assert away.status == hidden.status == 301 and "not followed" in (away.error or "")
    assert seen == ["http://x/old", "http://x/new", "http://x/away", "http://x/hidden"]
    assert clock[0] == 3.0  # each hop waited its turn


def test_state_records_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    with FetchState(path) as s:
        assert s.see(5, dt.date(2020, 1, 2)) and not s.see(5, None)
        s.record(6, PageStatus.NOT_FOUND, attempts=1, http_status=404)
        s.remember("http://x/feed", 200, '"e"', None, [5, 6])
    with FetchState(path) as s:
        assert s.get(5).status is PageStatus.PENDING and s.get(5).listed_date == dt.date(2020, 1, 2)
        assert s.get(6).status is PageStatus.NOT_FOUND and s.get(6).attempts == 1
        assert s.validators("http://x/feed").ids == (5, 6)
        assert s.ids_since(dt.date(2020, 1, 1)) == [5]


def test_one_fetch_at_a_time_per_raw_dir(tmp_path: Path) -> None:
    from kremlin.fetch.crawl import Crawler
    from kremlin.fetch.store import FetchLocked

    options = FetchOptions(raw_dir=tmp_path, site=Site("http://127.0.0.1:9"))
    with Crawler(options), pytest.raises(FetchLocked):
        Crawler(options)
    with Crawler(options):  # released when the first one closed
        pass


# --------------------------------------------------------------------------- crawls of the replay


def _corpus_files() -> dict[int, Path]:
    out = {}
    with (CORPUS / "labels.jsonl").open(encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            out[rec["kremlin_id"]] = CORPUS / "raw" / rec["file"]
    return out


def _event_paths(hits) -> list[str]:
    return [h.path for h in hits if h.path.rsplit("/", 1)[-1].isdigit() and "/page/" not in h.path]


def _style(text: str) -> Style:
    return Style.PAGE if "\nDirect link: " in text else Style.SCREEN


@pytest.fixture(scope="module")
def replay():
    if not replay_available() or not (CORPUS / "labels.jsonl").is_file():
        pytest.skip(f"replay or corpus not found ({REPLAY}, {CORPUS}: ../shared from the repo root)")
    listed, available = listed_and_available()
    files = _corpus_files()
    return {"listed": listed, "available": available, "corpus": {k: files[k] for k in available}}


@pytest.fixture()
def site():
    with ReplaySite() as s:
        yield s


def _options(raw: Path, site: ReplaySite, **kw) -> FetchOptions:
    return FetchOptions(raw_dir=raw, site=Site(site.base), politeness=kw.pop("politeness", FAST), **kw)


@needs_replay
def test_renderer_reproduces_every_replay_page_byte_for_byte(replay) -> None:
    """All 104 pages, each in the style of its corpus file."""
    mismatched = []
    for kid, path in sorted(replay["corpus"].items()):
        expected = path.read_text(encoding="utf-8")
        html = (REPLAY / NEWS.lstrip("/") / str(kid)).read_bytes()
        if render_event_page(html, _style(expected)) != expected:
            mismatched.append(kid)
    assert len(replay["corpus"]) == 104
    assert mismatched == []


@pytest.fixture(scope="module")
def first_crawl(replay, tmp_path_factory):
    """One crawl of the whole replay through the command line (`kremlin fetch`), then a second."""
    from kremlin.cli import main

    raw = tmp_path_factory.mktemp("raw")
    with ReplaySite() as s:
        rc = main(["fetch", "--raw-dir", str(raw), "--site", s.base, "--delay", str(DELAY), "--timeout", "5",
                   "--json"])  # fmt: skip
        first = list(s.hits)
        s.clear()
        second = run_fetch(_options(raw, s))
        second_hits = list(s.hits)
    return {"raw": raw, "rc": rc, "hits": first, "second": second, "second_hits": second_hits}


@needs_replay
def test_first_crawl_fetches_every_page_once_and_matches_the_corpus(first_crawl, replay) -> None:
    raw = first_crawl["raw"]
    assert first_crawl["rc"] == 0
    hits = first_crawl["hits"]
    assert hits[0].path == "/robots.txt"
    event_paths = _event_paths(hits)
    assert sorted(event_paths) == sorted(f"{NEWS}/{k}" for k in replay["listed"])  # each listed id once
    texts = {int(p.stem): p for p in raw.glob("*.txt")}
    assert set(texts) == replay["available"]
    store = RawStore(raw)
    for kid, corpus_path in replay["corpus"].items():
        expected = corpus_path.read_text(encoding="utf-8")
        got = texts[kid].read_text(encoding="utf-8")
        html = gzip.decompress(store.html_path(kid).read_bytes())
        if _style(expected) is Style.PAGE:
            assert got == expected, kid
        else:  # the file is page style; the kept HTML renders to the screen-style corpus text
            assert render_event_page(html, Style.SCREEN) == expected, kid
        assert render_event_page(html, Style.PAGE) == got
    # nothing but page texts in the scanned part of RAW_DIR
    assert {p.name for p in raw.iterdir() if not p.name.endswith(".txt")} == {FETCH_STATE_DIR, FETCH_HTML_DIR}
    assert not list((raw / FETCH_STATE_DIR / "tmp").iterdir())


@needs_replay
def test_missing_pages_are_recorded_not_found(first_crawl, replay) -> None:
    missing = replay["listed"] - replay["available"]
    assert len(missing) == 16
    with FetchState(RawStore(first_crawl["raw"]).state_path) as state:
        assert {k for k in missing if state.get(k).status is PageStatus.NOT_FOUND} == missing
        assert all(state.get(k).status is PageStatus.FETCHED for k in replay["available"])
        assert state.counts() == {"fetched": 104, "not_found": 16}


@needs_replay
def test_requests_are_polite(first_crawl) -> None:
    hits = sorted(first_crawl["hits"], key=lambda h: h.at)
    gaps = [b.at - a.done for a, b in zip(hits, hits[1:], strict=False)]
    assert min(gaps) >= DELAY, min(gaps)  # one at a time, the delay between them
    agents = {h.user_agent for h in hits}
    assert len(agents) == 1 and "kremlin-dataset" in agents.pop().lower()
    assert "http" in hits[0].user_agent  # names a URL


@needs_replay
def test_second_run_requests_no_event_page(first_crawl) -> None:
    second = first_crawl["second"]
    assert _event_paths(first_crawl["second_hits"]) == []
    assert second.new == 0 and second.pages.counts[Outcome.FAILED] == 0
    feed_and_lists = [h for h in first_crawl["second_hits"] if h.path != "/robots.txt"]
    assert feed_and_lists and all(h.conditional for h in feed_and_lists if h.status != 404)
    assert any(h.status == 304 for h in feed_and_lists)


@needs_replay
def test_disallowed_throttled_and_hanging_pages(replay, site, tmp_path) -> None:
    """The same crawl with robots.txt forbidding one page, one page throttled, one that hangs."""
    available = sorted(replay["available"])
    forbidden, throttled, hanging = available[10], available[20], available[30]
    robots = (
        (REPLAY / "robots.txt")
        .read_text()
        .replace("User-agent: *\n", f"User-agent: *\nDisallow: {NEWS}/{forbidden}\n", 1)
    )
    site.behaviour.replace["/robots.txt"] = robots.encode()
    site.behaviour.throttle[f"{NEWS}/{throttled}"] = 1  # one 429 with Retry-After: 1
    site.behaviour.hang[f"{NEWS}/{hanging}"] = 1.0
    politeness = Politeness(delay=DELAY, timeout=0.3, max_attempts=3, backoff=0.05, max_wait=5.0)
    summary = run_fetch(_options(tmp_path, site, politeness=politeness))

    assert f"{NEWS}/{forbidden}" not in site.paths()
    hits = site.hits
    throttled_hits = [h for h in hits if h.path == f"{NEWS}/{throttled}"]
    assert [h.status for h in throttled_hits] == [429, 200]
    assert throttled_hits[1].at - throttled_hits[0].done >= 1.0
    assert site.paths().count(f"{NEWS}/{hanging}") == 3  # max_attempts, then recorded failed
    c = summary.pages.counts
    assert (c[Outcome.NEW], c[Outcome.DISALLOWED], c[Outcome.FAILED], c[Outcome.NOT_FOUND]) == (102, 1, 1, 16)
    assert "ReadTimeout" in summary.pages.failures[hanging]
    with FetchState(RawStore(tmp_path).state_path) as state:
        assert state.get(forbidden).status is PageStatus.DISALLOWED
        assert state.get(hanging).status is PageStatus.FAILED and state.get(hanging).attempts == 3
    assert (tmp_path / f"{throttled}.txt").is_file() and not (tmp_path / f"{hanging}.txt").exists()

    # Next run: the failed page is asked again (and now answers); the forbidden one still never.
    site.behaviour.hang.clear()
    site.clear()
    again = run_fetch(_options(tmp_path, site, politeness=politeness))
    assert again.new == 1 and again.pages.counts[Outcome.DISALLOWED] == 1
    assert [h.path for h in site.event_hits()] == [f"{NEWS}/{hanging}"]


@needs_replay
def test_killed_fetch_resumes_without_duplicates(replay, site, tmp_path) -> None:
    raw = tmp_path / "raw"
    cmd = [sys.executable, "-m", "kremlin.cli", "fetch", "--raw-dir", str(raw), "--site", site.base,
           "--delay", str(DELAY), "--timeout", "5"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while len([h for h in site.event_hits() if h.status == 200]) < 40:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "the fetch did not get going"
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    killed_hits = [h.path for h in site.event_hits() if h.status == 200]
    written = {int(p.stem) for p in raw.glob("*.txt")}
    assert 30 <= len(written) < len(replay["available"])

    summary = run_fetch(_options(raw, site))
    all_hits = [h.path for h in site.event_hits() if h.status == 200]
    resumed = all_hits[len(killed_hits) :]
    # At most the page in flight when the process died is asked for twice.
    assert len(set(killed_hits) & set(resumed)) <= 1
    assert sorted(set(all_hits)) == sorted(f"{NEWS}/{k}" for k in replay["available"])
    assert summary.new == len(replay["available"]) - len(written)
    for kid, corpus_path in replay["corpus"].items():
        expected = corpus_path.read_text(encoding="utf-8")
        if _style(expected) is Style.PAGE:
            assert (raw / f"{kid}.txt").read_text(encoding="utf-8") == expected
    assert sorted(p.name for p in raw.iterdir() if not p.name.endswith(".txt")) == sorted(
        [FETCH_STATE_DIR, FETCH_HTML_DIR]
    )
    assert not list((raw / FETCH_STATE_DIR / "tmp").iterdir())
    with FetchState(RawStore(raw).state_path) as state:
        assert state.counts() == {"fetched": 104, "not_found": 16}


@needs_replay
def test_pipeline_publishes_every_fetched_page(first_crawl, tmp_path) -> None:
    import duckdb

    from tests.runkit import parse_and_build

    built = parse_and_build(first_crawl["raw"], tmp_path)
    con = duckdb.connect(str(built.db), read_only=True)
    try:
        files = con.execute("SELECT source_file, status FROM source_files ORDER BY source_file").fetchall()
        docs = dict(con.execute("SELECT kremlin_id, doc_id FROM documents").fetchall())
    finally:
        con.close()
    assert {f for f, _ in files} == {
        p.name for p in first_crawl["raw"].glob("*.txt")
    }  # state and HTML skipped
    assert {s for _, s in files} == {"published"}
    assert set(docs) == {int(p.stem) for p in first_crawl["raw"].glob("*.txt")}


@needs_replay
@pytest.mark.slow
def test_corrected_title_is_the_same_document_changed(
    replay, site, tmp_path, prefect_harness, capsys
) -> None:
    """The site corrects a title; after a re-fetch the next version shows one changed document."""
    from flows.pipeline import pipeline
    from kremlin.cli import main

    raw, curated = tmp_path / "raw", tmp_path / "curated"
    ids = sorted(replay["available"])[:3]
    first = run_fetch(_options(raw, site, ids=tuple(ids)))
    assert first.new == 3
    assert pipeline(raw_dir=str(raw), curated_dir=str(curated), keep=5)["status"] == "published"

    target = ids[1]
    html = (REPLAY / NEWS.lstrip("/") / str(target)).read_text(encoding="utf-8")
    head = html.index('<h1 class="entry-title')
    start = html.index(">", head) + 1
    end = html.index("</h1>", start)
    old_title = html[start:end]
    site.behaviour.replace[f"{NEWS}/{target}"] = (
        html[:start] + old_title + " (corrected)" + html[end:]
    ).encode()
    again = run_fetch(_options(raw, site, ids=(target,)))
    assert again.pages.counts[Outcome.UPDATED] == 1
    assert pipeline(raw_dir=str(raw), curated_dir=str(curated), keep=5)["status"] == "published"

    capsys.readouterr()
    assert main(["diff", "--curated-dir", str(curated)]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == "0 added, 0 removed, 1 changed", out
    assert out.startswith("~ ") and "(corrected)" in out


@needs_replay
def test_same_page_in_either_style_is_one_document(replay, tmp_path) -> None:
    """Page-style and screen-style texts of the same pages: one document each (the other copy a duplicate)."""
    import duckdb

    from tests.runkit import parse_and_build

    raw = tmp_path / "raw"
    raw.mkdir()
    ids = sorted(replay["available"])[:5]
    for kid in ids:
        html = (REPLAY / NEWS.lstrip("/") / str(kid)).read_bytes()
        (raw / f"{kid}.txt").write_text(render_event_page(html, Style.PAGE), encoding="utf-8")
        (raw / f"{kid}-screen.txt").write_text(render_event_page(html, Style.SCREEN), encoding="utf-8")
    built = parse_and_build(raw, tmp_path / "work")
    con = duckdb.connect(str(built.db), read_only=True)
    try:
        docs = con.execute("SELECT count(*), count(DISTINCT doc_id) FROM documents").fetchone()
        statuses = dict(con.execute("SELECT status, count(*) FROM source_files GROUP BY status").fetchall())
    finally:
        con.close()
    assert docs == (len(ids), len(ids))
    assert statuses == {"published": len(ids), "duplicate": len(ids)}


@needs_replay
def test_capped_first_crawl_resumes_the_deep_walk(replay, site, tmp_path) -> None:
    """`--pages 2` reads list page 1 (missing) and 2; the next run catches up and walks on."""
    first = run_fetch(_options(tmp_path, site, max_pages=2))
    assert site.paths(f"{NEWS}/page/") == [f"{NEWS}/page/2"]
    assert first.lists.missing == 1 and first.lists.read == 2  # page 1, then the feed and page 2
    fetched_first = {int(p.stem) for p in tmp_path.glob("*.txt")}
    assert first.new == len(fetched_first) > 0
    site.clear()
    second = run_fetch(_options(tmp_path, site))
    # head: page 1 (missing) and 2 (unchanged, known ids); then the deep walk from page 3 to its end
    assert site.paths(f"{NEWS}/page/") == [f"{NEWS}/page/{n}" for n in (2, 3, 4, 5, 6, 7)]
    assert first.new + second.new == len(replay["available"])
    asked_again = {int(p.rsplit("/", 1)[1]) for p in _event_paths(site.hits)} & fetched_first
    assert asked_again == set()
    site.clear()
    third = run_fetch(_options(tmp_path, site))
    assert third.new == 0 and _event_paths(site.hits) == []
    assert f"{NEWS}/page/3" not in site.paths()  # the list was walked to its end once


@needs_replay
def test_ids_and_since_fetch_again(first_crawl, replay, site, tmp_path) -> None:
    import shutil

    raw = tmp_path / "raw"
    shutil.copytree(first_crawl["raw"], raw)
    some = sorted(replay["available"])[:2]
    by_ids = run_fetch(_options(raw, site, ids=tuple(some)))
    assert sorted(_event_paths(site.hits)) == sorted(f"{NEWS}/{k}" for k in some)
    assert site.paths(f"{NEWS}/page") == [] and by_ids.pages.counts[Outcome.UNCHANGED] == 2
    site.clear()
    newest = max(replay["available"])
    with FetchState(RawStore(raw).state_path) as state:
        since = state.get(newest).listed_date
        expected = set(state.ids_since(since))
    by_date = run_fetch(_options(raw, site, since=since))
    assert expected and set(int(p.rsplit("/", 1)[1]) for p in _event_paths(site.hits)) == expected
    assert by_date.pages.counts[Outcome.UNCHANGED] == len(expected & replay["available"])
    assert by_date.new == 0


def test_fetch_flow_help() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "flows.fetch", "--help"], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert out.returncode == 0 and "usage:" in out.stdout and "--since" in out.stdout
