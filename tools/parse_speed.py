"""Parse speed per core: ``kremlin.shards.parse_file`` (decode, parse, rows, row checks) over a
raw folder, in this one process.

    .venv/bin/python tools/parse_speed.py [RAW_DIR] [--limit N] [--repeat R]

Prints pages/s for the whole of ``parse_file`` and for its parts (decode + parse_page,
page_rows), best of ``--repeat`` passes over the files (read into memory first, so disk
speed does not count), in CPU time of this process (other load on the machine does not count).
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
from kremlin.parser.page import parse_page  # noqa: E402
from kremlin.records import page_rows  # noqa: E402
from kremlin.shards import parse_file  # noqa: E402
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
