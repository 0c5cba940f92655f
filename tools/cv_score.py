"""Out-of-fold scores of the train split (a dev tool, not part of the pipeline): how the
parser does on pages its model was not fitted on, without looking at the validation split.

    .venv/bin/python tools/cv_score.py [--folds 4] [--seed 0] [--jobs 2] [--show CLASS]

Each fold of the train split (``cv_parser.fold_of``) is parsed by a model fitted on the
other folds with ``train_parser.PARAMS`` and compared with its labels as
``eval_parser.check`` does. Prints paragraphs_exact, turns_exact and turns_f1 over the
folds (they track the validation figures; the train split's own figures are fitted), the
wrong pages per error class, and with ``--show`` the first difference of each wrong page of
one class (e.g. ``paragraphs``), so errors are studied on train pages only.
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pycrfsuite  # noqa: E402

from kremlin.parser import labeller  # noqa: E402
from kremlin.parser.page import parse_page  # noqa: E402
from kremlin.parser.split import split_of  # noqa: E402
from schemas.page import Reject  # noqa: E402
from tools.cv_parser import corpus_missing, fold_arguments, fold_of  # noqa: E402
from tools.eval_parser import check, load_labels, turn_f1  # noqa: E402
from tools.train_parser import PARAMS, examples, fit  # noqa: E402


class PageScore(NamedTuple):
    file: str
    wrong: list[tuple[str, object, object]]  # (class, expected, got) per disagreeing field
    turn_counts: tuple[int, int, int] | None  # (matched, expected, got) when either side has turns


def score_fold(corpus: Path, folds: int, seed: int, k: int) -> list[PageScore]:
    train, _ = examples(corpus, "train")
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "fold.crfsuite"
        fit([ex for ex in train if fold_of(ex.kremlin_id, folds, seed) != k], dict(PARAMS), model)
        tagger = pycrfsuite.Tagger()
        tagger.open(str(model))
        # This process parses only this fold's pages, with this fold's model.
        labeller._TAGGER = tagger
        out = []
        for label in load_labels(corpus):
            kid = label["kremlin_id"]
            if split_of(kid) != "train" or fold_of(kid, folds, seed) != k:
                continue
            page = parse_page((corpus / "raw" / label["file"]).read_text(encoding="utf-8"))
            if isinstance(page, Reject):
                out.append(PageScore(label["file"], [("reject", page.reason, page.message)], None))
                continue
            has_turns = bool(label["turns"] or page.turns)
            out.append(
                PageScore(
                    label["file"], list(check(label, page)), turn_f1(label, page) if has_turns else None
                )
            )
        return out


def main() -> int:
    ap = fold_arguments(__doc__)
    ap.add_argument("--show", default="", help="print the first difference of each wrong page of this class")
    args = ap.parse_args()
    if corpus_missing(args.corpus):
        return 2
    n = args.folds
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        parts = pool.map(score_fold, [args.corpus] * n, [n] * n, [args.seed] * n, range(n))
        pages = [p for part in parts for p in part]
    classes = Counter(c for p in pages for c in {w[0] for w in p.wrong})
    with_turns = [p for p in pages if p.turn_counts is not None]
    turns_wrong = sum(any(w[0].startswith("turns") for w in p.wrong) for p in with_turns)
    matched, expected, got = (sum(p.turn_counts[i] for p in with_turns) for i in range(3))
    f1 = 2 * matched / max(expected + got, 1)
    print(
        f"seed {args.seed}, {n} folds: {len(pages)} pages, {len(with_turns)} with turns; "
        f"paragraphs_exact {1 - classes['paragraphs'] / max(len(pages), 1):.4f}, "
        f"turns_exact {1 - turns_wrong / max(len(with_turns), 1):.4f}, turns_f1 {f1:.4f}"
    )
    print("wrong pages per class: " + ", ".join(f"{c} {k}" for c, k in classes.most_common()))
    for p in pages:
        for cls, exp, got_ in p.wrong:
            if cls == args.show:
                print(f"{p.file}\n   expected: {str(exp)[:200]}\n   got:      {str(got_)[:200]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
