"""Fetch event pages from en.kremlin.ru into RAW_DIR (pure domain code, no orchestrator).

    render   HTML of an event page -> page text in the corpus layout ("page"/"screen" style)
    listing  news list pages and the Atom feed -> event ids
    robots   robots.txt rules
    http     the polite client (one request at a time, delay, Retry-After, bounded retries)
    state    the crawl state (RAW_DIR/.fetch/state.sqlite3)
    store    atomic writes of RAW_DIR/<id>.txt and RAW_DIR/.html/<id>.html.gz
    crawl    the run: discover (robots, feed, list), then fetch; its summary
    options  command-line options shared by `kremlin fetch` and `python -m flows.fetch`

See docs/fetching.md.
"""
