"""Parse speed per core: ``kremlin.shards.parse_file`` (decode, parse, rows, row checks) over a
raw folder, in this one process.

    .venv/bin/python tools/parse_speed.py [RAW_DIR] [--limit N] [--repeat R] [--parts]

Prints pages/s for the whole of ``parse_file`` and for its parts (decode + parse_page,
page_rows), best of ``--repeat`` passes over the files (read into memory first, so disk
speed does not count), in CPU time of this process (other load on the machine does not count).
``--parts`` also prints CPU ms per page of each stage of ``parse_file``: read and hash check,
decode, layout rules (``read_layout``), line features, CRF tagging, assembly into the
parsed-page model (``build_page``: paragraphs, turns, validation), rows and row checks.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kremlin.decode import Decoded, decode_page  # noqa: E402
from kremlin.inventory import read_entry  # noqa: E402
from kremlin.parser import labeller  # noqa: E402
from kremlin.parser.features import sequence_features  # noqa: E402
from kremlin.parser.page import PageLayout, build_page, parse_page, read_layout  # noqa: E402
from kremlin.records import page_rows  # noqa: E402
from kremlin.shards import check_rows, parse_file  # noqa: E402
from schemas.page import ParsedPage  # noqa: E402


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("raw_dir", nargs="?", type=Path, default=ROOT / ".." / "shared" / "corpus" / "raw")
    ap.add_argument("--limit", type=int, default=0, help="at most this many files (0: all)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--parts", action="store_true", help="also print CPU ms/page of each stage")
    args = ap.parse_args()
    paths = sorted(p for p in args.raw_dir.rglob("*") if p.is_file())
    if args.limit:
        paths = paths[: args.limit]
    if not paths:
        print(f"no files in {args.raw_dir}", file=sys.stderr)
        return 2
    n = len(paths)
    texts = [d.text for p in paths if isinstance(d := decode_page(p.read_bytes()), Decoded)]
    pages = [p for t in texts if isinstance(p := parse_page(t), ParsedPage)]
    # parse_file checks that the bytes are still those the scan hashed.
    shas = [(hashlib.sha256(p.read_bytes()).hexdigest(), str(p)) for p in paths]
    whole = _best(lambda: [parse_file(sha, path) for sha, path in shas], args.repeat)
    parse = _best(lambda: [parse_page(t) for t in texts], args.repeat)
    rows = _best(lambda: [page_rows(p) for p in pages], args.repeat)
    print(f"{n} files, one core, best of {args.repeat}")
    print(f"parse_file (read, decode, parse, rows, row checks) {n / whole:8.0f} pages/s")
    print(f"parse_page                                          {len(texts) / parse:8.0f} pages/s")
    print(f"page_rows                                           {len(pages) / rows:8.0f} pages/s")
    if args.parts:
        _parts(shas, texts, args.repeat)
    return 0


def _parts(shas: list[tuple[str, str]], texts: list[str], repeat: int) -> None:
    """CPU ms per page of each stage, each timed alone over every page it applies to."""
    lays = [lay for t in texts if isinstance(lay := read_layout(t), PageLayout)]
    args = [
        (lay.body.free, lay.header.title, lay.tag_surnames, lay.body.photo_captions, lay.header.summary)
        for lay in lays
    ]
    feats = [sequence_features(*a) for a in args]
    tagger = labeller._TAGGER
    labelled = [(lay, labeller.label_lines(*a)) for lay, a in zip(lays, args, strict=True)]
    pages = [p for t in texts if isinstance(p := parse_page(t), ParsedPage)]
    rows = [page_rows(p) for p in pages]
    datas = [Path(p).read_bytes() for _, p in shas]

    def each(fn, items) -> float:
        return _best(lambda: [fn(x) for x in items], repeat) / max(len(items), 1)

    per_page = {
        "read + sha256 check": each(lambda sp: read_entry(sp[1], sp[0]), shas),
        "decode": each(decode_page, datas),
        "layout rules (read_layout)": each(read_layout, texts),
        "line features": each(lambda a: sequence_features(*a), args),
        "CRF tagging": each(lambda f: tagger.tag(f) if f and tagger else [], feats),
        "build_page": each(lambda ll: build_page(*ll), labelled),
        "page_rows": each(page_rows, pages),
        "row checks": each(lambda r: check_rows(*r, "x"), rows),
    }
    for name, seconds in per_page.items():
        print(f"  {name:32s} {seconds * 1000:7.3f} ms/page")
    others = sum(v for k, v in per_page.items() if k != "line features")
    print(f"  {'all but the line features':32s} {others * 1000:7.3f} ms/page")


if __name__ == "__main__":
    raise SystemExit(main())
