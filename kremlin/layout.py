"""Names inside RAW_DIR that belong to the project itself, not to the landing folder's pages.

The fetcher keeps its crawl state and the HTML it rendered from beside the page texts, in
two directories it makes; the scanner leaves exactly these directories out of the
accounting (one home for both). An entry of either name that is not a directory (a file,
a link) is scanned like any other.
"""

from __future__ import annotations

FETCH_STATE_DIR = ".fetch"
"""RAW_DIR/.fetch/: the crawler's state (ids seen, their status, conditional-request validators)."""
FETCH_HTML_DIR = ".html"
"""RAW_DIR/.html/<kremlin_id>.html.gz: the HTML each page text was rendered from (provenance)."""
RAW_STATE_DIRS = frozenset({FETCH_STATE_DIR, FETCH_HTML_DIR})

FETCHED_TEXT_NAME = "{}.txt"
"""RAW_DIR/<kremlin_id>.txt: the name the fetcher gives the text of a page it rendered."""
DELIVERED_TEXT_SUFFIX = "_{}.txt"
"""How a page text others deliver ends: ``{}`` is sha256 of its source_url, 16 hex digits
(``000_2db0a70f9af90d4e.txt``)."""

PAGE_FILE_NAME_RULE = """\
A file name *names its page* when it is the fetcher's `<id>.txt` or ends with
`_<sha256(source_url)[:16]>.txt`, the layout of page texts others deliver
(`000_2db0a70f9af90d4e.txt`); `<id>` is the page's site id."""


def names_page_sql(file: str, kremlin_id: str, url_prefix: str) -> str:
    """The rule above as a DuckDB expression: ``file`` a path, ``kremlin_id`` a BIGINT and
    ``url_prefix`` the source_url prefix as a SQL literal (NULL when the id is NULL)."""
    name, ident = f"regexp_extract({file}, '[^/]*$')", f"CAST({kremlin_id} AS VARCHAR)"
    head, tail = FETCHED_TEXT_NAME.split("{}")
    d_head, d_tail = DELIVERED_TEXT_SUFFIX.split("{}")
    digest = f"left(sha256({url_prefix} || {ident}), 16)"
    return (
        f"({name} = '{head}' || {ident} || '{tail}' OR suffix({name}, '{d_head}' || {digest} || '{d_tail}'))"
    )
