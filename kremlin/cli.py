"""`kremlin`: look at what the pipeline published (no orchestrator needed).

    kremlin versions   --curated-dir curated
    kremlin rejects    --curated-dir curated [--version V]
    kremlin diff       --curated-dir curated [OLD NEW]
    kremlin search     --curated-dir curated "phrase" [--limit 10]
    kremlin dictionary [--out docs/data-dictionary.md]
    kremlin fetch      --raw-dir raw [--site URL] [--pages N] [--delay S] [--ids ID ... | --since DATE]

The pipeline itself runs with `make pipeline` / `python -m flows.pipeline`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

from kremlin.versions import DB_FILENAME, latest_version, list_versions, read_manifest


def _db(curated: Path, version: str | None) -> Path:
    vid = version or latest_version(curated)
    if vid is None:
        raise SystemExit(f"no published version in {curated}")
    path = curated / "versions" / vid / DB_FILENAME
    if not path.exists():
        raise SystemExit(f"version {vid} not found in {curated}")
    return path


def cmd_versions(args: argparse.Namespace) -> int:
    latest = latest_version(args.curated_dir)
    for vid in list_versions(args.curated_dir):
        m = read_manifest(args.curated_dir, vid) or {}
        counts = m.get("row_counts", {})
        mark = "*" if vid == latest else " "
        print(
            f"{mark} {vid}  parent={m.get('parent')}  documents={counts.get('documents')}  "
            f"quality={(m.get('quality') or {}).get('verdict')}"
        )
    return 0


def cmd_rejects(args: argparse.Namespace) -> int:
    con = duckdb.connect(str(_db(args.curated_dir, args.version)), read_only=True)
    rows = con.execute(
        "SELECT source_file, reject_reason, reject_stage, reject_message FROM source_files "
        "WHERE status = 'rejected' ORDER BY source_file"
    ).fetchall()
    for f, reason, stage, msg in rows:
        print(f"{f}\t{reason}\t{stage}\t{msg}")
    print(f"{len(rows)} rejected file(s)", file=sys.stderr)
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from kremlin.diff import diff_versions, format_diff

    if args.versions:
        if len(args.versions) != 2:
            raise SystemExit("diff takes two version ids, or none (parent of latest vs latest)")
        old, new = args.versions
    else:
        new = latest_version(args.curated_dir)
        old = (read_manifest(args.curated_dir, new) or {}).get("parent") if new else None
        if not new or not old:
            raise SystemExit("latest has no parent version to compare with")
    print(format_diff(diff_versions(args.curated_dir, old, new)))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from kremlin.analyst import search

    con = duckdb.connect(str(_db(args.curated_dir, args.version)), read_only=True)
    for hit in search(con, args.query, limit=args.limit):
        who = f" — {hit['speaker']}" if hit.get("speaker") else ""
        print(f"{hit['event_date']}  {hit['doc_id']}  {hit['title']}{who}\n    {hit['snippet']}")
    return 0


def cmd_dictionary(args: argparse.Namespace) -> int:
    from kremlin.dictionary import render

    text = render()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    import json

    from kremlin.fetch.crawl import run_fetch
    from kremlin.fetch.options import options_from_args

    try:
        options = options_from_args(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from kremlin.fetch.store import FetchLocked

    try:
        summary = run_fetch(options)
    except FetchLocked as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary.as_dict(), indent=2) if args.json else summary.format())
    # Pages that are missing or failed are recorded and the run still succeeds; only a
    # robots.txt that could not be read (so nothing was fetched) is an error.
    return 1 if summary.robots.startswith("unreachable") else 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="kremlin", description="Inspect the curated Kremlin transcripts dataset."
    )
    sub = ap.add_subparsers(dest="command", required=True)

    def with_dir(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--curated-dir", type=Path, default=Path("curated"), help="default: curated")
        return p

    p = with_dir(sub.add_parser("versions", help="list published versions (* = latest)"))
    p.set_defaults(fn=cmd_versions)
    p = with_dir(sub.add_parser("rejects", help="list rejected input files with reason, stage and message"))
    p.add_argument("--version", help="version id (default: latest)")
    p.set_defaults(fn=cmd_rejects)
    p = with_dir(sub.add_parser("diff", help="documents added, removed and changed between two versions"))
    p.add_argument(
        "versions", nargs="*", metavar="VERSION", help="OLD NEW (default: latest's parent and latest)"
    )
    p.set_defaults(fn=cmd_diff)
    p = with_dir(sub.add_parser("search", help="full-text search over paragraphs and speech turns"))
    p.add_argument("query")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--version", help="version id (default: latest)")
    p.set_defaults(fn=cmd_search)
    p = sub.add_parser("dictionary", help="print or write the data dictionary generated from the contract")
    p.add_argument("--out", help="file to write (default: stdout)")
    p.set_defaults(fn=cmd_dictionary)
    from kremlin.fetch.options import add_fetch_arguments

    p = sub.add_parser(
        "fetch",
        help="fetch new event pages from en.kremlin.ru into RAW_DIR (polite: robots.txt, >= 1 s apart)",
    )
    add_fetch_arguments(p)
    p.set_defaults(fn=cmd_fetch)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
