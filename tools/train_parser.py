"""Train the parser's line labeller from the labelled corpus (``make train``).

    .venv/bin/python tools/train_parser.py [--corpus ../shared/corpus] [--out kremlin/parser/model]

1. Each train-split page (``kremlin.parser.split``) is read by the parser up to its learned
   decisions (``read_layout``): header, footer and the body's certain layout by rule, the
   other body lines as *free* lines.
2. The free lines are aligned with the page's oracle paragraphs and turns
   (``align_page``): a line that starts an oracle paragraph is ``P`` (``T`` when that
   paragraph opens a turn), one that carries the paragraph on is ``C``, any other is ``X``
   (a caption). Pages the rules cannot reproduce (a paragraph split around a slider, say)
   are left out of training and counted.
3. A linear-chain CRF (python-crfsuite, L-BFGS, fixed parameters) is fitted on the
   sequences in file order; the model and its metadata (feature fingerprint, split rule,
   parameters, counts, line accuracy per split) go to ``--out``. Same corpus and code give
   the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pycrfsuite  # noqa: E402

from kremlin.parser import split  # noqa: E402
from kremlin.parser.body import FIXED_SEPARATOR, BodyLayout, glue  # noqa: E402
from kremlin.parser.features import FINGERPRINT, sequence_features  # noqa: E402
from kremlin.parser.page import PageLayout, read_layout  # noqa: E402

CORPUS = ROOT / ".." / "shared" / "corpus"
OUT = ROOT / "kremlin" / "parser" / "model"
PARAMS = {
    "c1": 0.5,
    "c2": 0.02,
    "max_iterations": 300,
    "feature.possible_transitions": True,
    "feature.minfreq": 2,
}


@dataclass(frozen=True)
class Example:
    file: str
    kremlin_id: int
    features: list[list[str]]
    labels: list[str]


def load_labels(corpus: Path) -> Iterator[dict]:
    with (corpus / "labels.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def turn_paragraphs(label: dict) -> set[int] | None:
    """Indices of the oracle paragraphs that open a turn, or None when they do not add up."""
    paras, out = label["paragraphs"], set()
    i = label["narration_paragraphs"]
    for turn in label["turns"]:
        if i >= len(paras) or not paras[i].startswith(turn["label"]):
            return None
        out.add(i)
        parts = turn["text"].split("\n\n") if turn["text"] else []
        # The turn's text starts with the rest of the label's paragraph, when it has one.
        has_rest = bool(parts) and paras[i] != parts[0] and paras[i].endswith(parts[0])
        i += len(parts) + (0 if has_rest else 1)
    return out if i == len(paras) or not label["turns"] else None


def align_page(body: BodyLayout, paras: list[str], turn_starts: set[int]) -> list[str] | None:
    """P/T/C/X for every free line, or None when the lines cannot give the oracle paragraphs."""
    labels = [""] * len(body.free)
    pi = 0
    open_at: int | None = None  # oracle paragraph being built
    built = ""
    started_line = -1
    items = body.items
    k = 0
    while k < len(items):
        item = items[k]
        if item.kind != "free":
            if open_at is not None:
                return None
            if item.kind == FIXED_SEPARATOR:
                if pi >= len(paras) or paras[pi] != item.text:
                    return None
                pi += 1
            k += 1
            continue
        line = body.free[item.free]
        t = line.text
        if open_at is not None:
            cand = built + glue(built, line) + t
            if paras[open_at].startswith(cand):
                labels[item.free] = "C"
                built = cand
                if built == paras[open_at]:
                    open_at = None
                k += 1
                continue
            if labels[started_line] in ("P", "T") and built == body.free[started_line].text:
                # The line taken as the paragraph's start was a caption that shares its words.
                labels[started_line] = "X"
                pi, open_at = open_at, None
                k = next(j for j, it in enumerate(items) if it.kind == "free" and it.free == started_line) + 1
                continue
            return None
        if pi < len(paras) and paras[pi].startswith(t):
            labels[item.free] = "T" if pi in turn_starts else "P"
            if paras[pi] != t:
                open_at, built, started_line = pi, t, item.free
            pi += 1
        else:
            labels[item.free] = "X"
        k += 1
    if open_at is not None or pi != len(paras):
        return None
    return labels


def examples(corpus: Path, which: str) -> tuple[list[Example], Counter[str]]:
    out, skipped = [], Counter()
    for label in load_labels(corpus):
        if split.split_of(label["kremlin_id"]) != which:
            continue
        lay = read_layout((corpus / "raw" / label["file"]).read_text(encoding="utf-8"))
        if not isinstance(lay, PageLayout):
            skipped["reject"] += 1
            continue
        starts = turn_paragraphs(label)
        if starts is None:
            skipped["turns"] += 1
            continue
        labels = align_page(lay.body, label["paragraphs"], starts)
        if labels is None:
            skipped["align"] += 1
            continue
        if not labels:
            continue
        feats = sequence_features(
            lay.body.free, lay.header.title, lay.tag_surnames, lay.body.photo_captions, lay.header.summary
        )
        out.append(Example(label["file"], label["kremlin_id"], feats, labels))
    return out, skipped


def fit(exs: list[Example], params: dict, model: Path) -> None:
    """Fit the CRF on ``exs`` in their order (the same examples give the same model bytes)."""
    trainer = pycrfsuite.Trainer(algorithm="lbfgs", verbose=False)
    for ex in exs:
        trainer.append(ex.features, ex.labels)
    trainer.set_params(params)
    trainer.train(str(model))


@dataclass(frozen=True)
class Tagged:
    example: Example
    wrong: list[tuple[int, str, str]]
    """(line, gold label, tagged label) of each line the model labels wrong."""


def tag_all(tagger: pycrfsuite.Tagger, exs: list[Example]) -> list[Tagged]:
    out = []
    for ex in exs:
        got = tagger.tag(ex.features)
        out.append(
            Tagged(ex, [(k, g, t) for k, (t, g) in enumerate(zip(got, ex.labels, strict=True)) if g != t])
        )
    return out


def line_accuracy(tagger: pycrfsuite.Tagger, exs: list[Example]) -> dict[str, float]:
    tagged = tag_all(tagger, exs)
    lines = sum(len(ex.labels) for ex in exs)
    right = lines - sum(len(t.wrong) for t in tagged)
    pages = sum(not t.wrong for t in tagged)
    return {"lines": round(right / max(lines, 1), 5), "pages": round(pages / max(len(exs), 1), 5)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    if not (args.corpus / "labels.jsonl").exists():
        print(f"no labelled corpus at {args.corpus}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    train, skipped = examples(args.corpus, "train")
    valid, skipped_v = examples(args.corpus, "validation")
    args.out.mkdir(parents=True, exist_ok=True)
    model = args.out / "body.crfsuite"
    fit(train, PARAMS, model)
    seconds = time.perf_counter() - t0
    tagger = pycrfsuite.Tagger()
    tagger.open(str(model))
    meta = {
        "feature_fingerprint": FINGERPRINT,
        "algorithm": "lbfgs",
        "params": PARAMS,
        "split": "kremlin.parser.split: sha256(str(kremlin_id))[:4] % 5 == 0 is validation",
        "train_pages": len(train),
        "train_lines": sum(len(ex.labels) for ex in train),
        "train_pages_left_out": dict(sorted(skipped.items())),
        "label_counts": dict(sorted(Counter(x for ex in train for x in ex.labels).items())),
        "line_accuracy": {"train": line_accuracy(tagger, train), "validation": line_accuracy(tagger, valid)},
        "validation_pages_left_out": dict(sorted(skipped_v.items())),
        "model_bytes": model.stat().st_size,
    }
    (args.out / "body.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(json.dumps(meta, indent=2, sort_keys=True))
    print(f"trained in {seconds:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
