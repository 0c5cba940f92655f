"""Cross-validation of the line labeller inside the train split (a dev tool, not part of
the pipeline): how feature and parameter choices are judged without the validation split.

    .venv/bin/python tools/cv_parser.py [--folds 4] [--seed 0] [--param c2=0.1 ...] [--jobs 2]

The train split's aligned pages (``train_parser.examples``) go to ``--folds`` folds by a
second hash of the id (``sha256("fold<seed>:<id>")``, so each seed is another partition);
each fold is tagged by a model trained on the others with ``train_parser.PARAMS``, updated
by ``--param``. Prints the wrong pages (any free line wrong) and wrong lines per fold and in
all, and the wrong lines by gold and tagged label; lower is better. Differences of a few pages are within the spread between seeds.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pycrfsuite  # noqa: E402

from kremlin.parser.page import PageLayout, read_layout  # noqa: E402
from tools.train_parser import CORPUS, PARAMS, Example, examples, tag_all  # noqa: E402
from tools.train_parser import fit as fit_model  # noqa: E402


def fold_of(kremlin_id: int, folds: int, seed: int) -> int:
    digest = hashlib.sha256(f"fold{seed}:{kremlin_id}".encode("ascii")).digest()
    return int.from_bytes(digest[:4], "big") % folds


def _value(text: str) -> object:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def run_fold(
    fit: list[Example], held: list[Example], params: dict
) -> tuple[int, int, int, int, Counter, list[tuple[str, int, str, str]]]:
    """(wrong pages, pages, wrong lines, lines, (gold, tagged) counts of the wrong lines,
    (file, line, gold, tagged) of each wrong line) of ``held`` under a model fitted on ``fit``."""
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "fold.crfsuite"
        fit_model(fit, params, model)
        tagger = pycrfsuite.Tagger()
        tagger.open(str(model))
        tagged = tag_all(tagger, held)
    wrong = [(t.example.file, k, g, got) for t in tagged for k, g, got in t.wrong]
    confusion = Counter((g, got) for _, _, g, got in wrong)
    wrong_pages = sum(bool(t.wrong) for t in tagged)
    lines = sum(len(ex.labels) for ex in held)
    return wrong_pages, len(held), len(wrong), lines, confusion, wrong


def _show(corpus: Path, wrong: list[tuple[str, int, str, str]]) -> None:
    for file, k, gold, tagged in sorted(wrong):
        lay = read_layout((corpus / "raw" / file).read_text(encoding="utf-8"))
        free = lay.body.free if isinstance(lay, PageLayout) else []
        text = free[k].text if k < len(free) else "?"
        print(f"{file} line {k}/{len(free)} {gold}>{tagged}: {text[:160]!r}")


def fold_arguments(doc: str) -> argparse.ArgumentParser:
    """The options every cross-validation tool takes: corpus, folds, seed, jobs."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    return ap


def corpus_missing(corpus: Path) -> bool:
    if (corpus / "labels.jsonl").exists():
        return False
    print(f"no labelled corpus at {corpus}", file=sys.stderr)
    return True


def main() -> int:
    ap = fold_arguments(__doc__)
    ap.add_argument("--param", action="append", default=[], help="NAME=VALUE over train_parser.PARAMS")
    ap.add_argument("--show", default="", help="print the wrong lines of one kind, e.g. X>P (gold>tagged)")
    args = ap.parse_args()
    if corpus_missing(args.corpus):
        return 2
    params = dict(PARAMS)
    for item in args.param:
        name, _, value = item.partition("=")
        params[name] = _value(value)
    t0 = time.perf_counter()
    train, _ = examples(args.corpus, "train")
    by_fold: list[list[Example]] = [[] for _ in range(args.folds)]
    for ex in train:
        by_fold[fold_of(ex.kremlin_id, args.folds, args.seed)].append(ex)
    jobs = [
        ([ex for j, part in enumerate(by_fold) if j != k for ex in part], by_fold[k], params)
        for k in range(args.folds)
    ]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run_fold, *zip(*jobs, strict=True)))
    for k, (wp, n, wl, nl, *_) in enumerate(results):
        print(f"fold {k}: {wp} wrong pages of {n}, {wl} wrong lines of {nl}")
    wp, n, wl, nl = (sum(r[i] for r in results) for i in range(4))
    confusion = sum((r[4] for r in results), Counter())
    print(f"all: {wp} wrong pages of {n}, {wl} wrong lines of {nl} (seed {args.seed}, {params})")
    print("wrong lines, gold→tagged: " + ", ".join(f"{g}→{t} {c}" for (g, t), c in confusion.most_common()))
    if args.show:
        _show(args.corpus, [w for r in results for w in r[5] if f"{w[2]}>{w[3]}" == args.show])
    print(f"{time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
