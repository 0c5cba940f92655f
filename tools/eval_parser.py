"""Compare the text parser with the corpus oracle labels (a dev tool, not part of the pipeline).

    .venv/bin/python tools/eval_parser.py [CLASS [N]] [--save FILE] [--against FILE]

Prints, per error class, how many documents disagree with the labels, then up to N
examples of CLASS. ``--save`` writes the failing files of every class as JSON, and
``--against`` compares with such a file, listing the files each class fixed and broke,
so a rule change can be judged by what it gains and what it costs.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kremlin.parser.page import parse_page  # noqa: E402
from kremlin.parser.split import split_of  # noqa: E402
from schemas.page import ParsedPage, Reject  # noqa: E402

CORPUS = ROOT / ".." / "shared" / "corpus"
FOLD_VISIBLE = 4  # tags the page shows before an `N more` line
CLASSES = [
    "reject",
    "title",
    "summary",
    "place",
    "time",
    "sections",
    "geography",
    "topics",
    "persons",
    "pubtext",
    "paragraphs",
    "turns_labels",
    "turns_text",
]


def load_labels(corpus: Path) -> Iterator[dict]:
    with (corpus / "labels.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def _first_diff(exp: list[str], got: list[str], width: int = 150) -> tuple[str, str]:
    i = 0
    while i < min(len(exp), len(got)) and exp[i] == got[i]:
        i += 1

    def show(xs: list[str]) -> str:
        return f"#{i}/{len(xs)} " + (xs[i][:width] if i < len(xs) else "<end>")

    return show(exp), show(got)


def _tags_match(label: dict, field: str, got: list[str]) -> bool:
    full = label[field]
    visible = full[:FOLD_VISIBLE] if label["hidden_tags"] and len(full) > FOLD_VISIBLE else full
    return got in (full, visible)


def check(label: dict, page: ParsedPage) -> Iterator[tuple[str, object, object]]:
    """(class, expected, got) for every field of the page that disagrees with its label."""
    h, f = page.header, page.footer
    simple = (
        ("title", label["title"], h.title),
        ("summary", label["summary"], "\n\n".join(h.summary) or None),
        ("place", label["place"], h.place),
        ("time", label["time"], h.time_text),
        ("sections", label["sections"], f.sections),
        ("pubtext", label["publication_datetime_text"], f.publication_text),
    )
    for name, exp, got in simple:
        if exp != got:
            yield name, exp, got
    for name in ("geography", "topics", "persons"):
        if not _tags_match(label, name, getattr(f, name)):
            yield name, label[name], getattr(f, name)
    exp_p, got_p = label["paragraphs"], [p.text for p in page.paragraphs]
    if exp_p != got_p:
        yield "paragraphs", *_first_diff(exp_p, got_p)
    exp_l, got_l = [t["label"] for t in label["turns"]], [t.label for t in page.turns]
    if exp_l != got_l:
        yield "turns_labels", *_first_diff(exp_l, got_l, 80)
    else:
        exp_t, got_t = [t["text"] for t in label["turns"]], [t.text for t in page.turns]
        if exp_t != got_t:
            yield (
                "turns_text",
                [t[:100] for t in exp_t if t not in got_t][:1],
                [t[:100] for t in got_t if t not in exp_t][:1],
            )


def turn_f1(label: dict, page: ParsedPage) -> tuple[int, int, int]:
    """(matched, expected, got) counts of (label, text) pairs, as a multiset."""
    exp = collections.Counter((t["label"], t["text"]) for t in label["turns"])
    got = collections.Counter((t.label, t.text) for t in page.turns)
    return sum((exp & got).values()), sum(exp.values()), sum(got.values())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cls", nargs="?", choices=CLASSES, help="error class to show examples of")
    ap.add_argument("n", nargs="?", type=int, default=5, help="how many examples to show")
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument(
        "--split", choices=("all", "train", "validation"), default="train", help="pages to compare"
    )
    ap.add_argument("--save", type=Path, help="write the failing files per class to this JSON file")
    ap.add_argument("--against", type=Path, help="compare with failing files saved by an earlier --save")
    args = ap.parse_args()

    bad: dict[str, list[tuple[str, object, object]]] = collections.defaultdict(list)
    docs = with_turns = 0
    f1 = [0, 0, 0]
    t0 = time.perf_counter()
    for label in load_labels(args.corpus):
        if args.split != "all" and split_of(label["kremlin_id"]) != args.split:
            continue
        docs += 1
        text = (args.corpus / "raw" / label["file"]).read_text(encoding="utf-8")
        page = parse_page(text)
        if isinstance(page, Reject):
            bad["reject"].append((label["file"], page.reason, page.message))
            continue
        for name, exp, got in check(label, page):
            bad[name].append((label["file"], exp, got))
        if label["turns"] or page.turns:
            with_turns += 1
            for k, v in enumerate(turn_f1(label, page)):
                f1[k] += v
    elapsed = time.perf_counter() - t0

    print(f"{docs} docs, {with_turns} with turns, {elapsed:.1f} s")
    for name in CLASSES:
        total = with_turns if name.startswith("turns") else docs
        print(f"{name:13} {len(bad[name]):5} / {total}")
    turns_wrong = len(bad["turns_labels"]) + len(bad["turns_text"])
    prec, rec = f1[0] / max(f1[2], 1), f1[0] / max(f1[1], 1)
    print(
        f"{'turns_exact':13} {turns_wrong:5} / {with_turns}  ({1 - turns_wrong / max(with_turns, 1):.2%} exact)"
    )
    print(f"{'turns_f1':13} {2 * prec * rec / max(prec + rec, 1e-9):.4f}")
    print(f"{'paragraphs':13} {1 - len(bad['paragraphs']) / max(docs, 1):.2%} exact")

    if args.against:
        before = json.loads(args.against.read_text(encoding="utf-8"))
        for name in CLASSES:
            now, old = {b[0] for b in bad[name]}, set(before.get(name, []))
            if now != old:
                print(f"{name}: fixed {len(old - now)} {sorted(old - now)[:12]}")
                print(f"{name}: broke {len(now - old)} {sorted(now - old)[:12]}")
    if args.save:
        args.save.write_text(
            json.dumps({k: [b[0] for b in v] for k, v in bad.items()}, indent=0), encoding="utf-8"
        )
    if args.cls:
        for item in bad[args.cls][: args.n]:
            print(item)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
