"""The parser on pages it was not trained on: the validation split of ../shared/corpus
(``kremlin.parser.split``), built into a DB and scored with ../shared/tools/score.py.

The line labeller is fitted on the train split only (tools/train_parser.py), so these
figures stand for unseen en.kremlin.ru pages. The floors below hold the figures the
committed model reaches (docs/parser.md: validation paragraphs_exact 0.9837, turns_exact
0.9720, turns_f1 0.9955; gaps 1.3 and 2.2 points), so a change that loses accuracy on
unseen pages fails. Issue 9's bars (0.99, 0.98, 0.997; gaps at most 1 and 2 points) are
not reached yet.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from kremlin.parser.page import parse_page
from kremlin.parser.split import split_of
from schemas.page import ParsedPage
from tests.runkit import parse_and_build
from tests.test_corpus_pipeline import THRESHOLDS, _scorer

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

# The whole-corpus thresholds, with the floors the committed model holds on unseen pages.
BARS = {
    **{m: v for m, v in THRESHOLDS.items() if not m.startswith(("persons_turns", "person_ids", "coverage"))},
    "paragraphs_exact": 0.983,
    "turns_exact": 0.97,
    "turns_f1": 0.995,
}
MAX_GAP = {"paragraphs": 0.014, "turns": 0.022}  # train minus validation, exact-page shares


def _labels(corpus: Path) -> list[dict]:
    with (corpus / "labels.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _place(src: Path, dst: Path) -> None:
    # A hard link (or a copy): the scanner refuses symlinks that leave RAW_DIR.
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


@pytest.fixture(scope="module")
def validation_scores(corpus, tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("validation")
    raw = work / "raw"
    raw.mkdir()
    labels = [lab for lab in _labels(corpus) if split_of(lab["kremlin_id"]) == "validation"]
    assert labels, "the validation split is empty"
    for lab in labels:
        _place(corpus / "raw" / lab["file"], raw / lab["file"])
    label_file = work / "labels.jsonl"
    label_file.write_text(
        "".join(json.dumps(lab, ensure_ascii=False) + "\n" for lab in labels), encoding="utf-8"
    )
    built = parse_and_build(raw, work / "build", workers=os.cpu_count() or 1)
    out = work / "score.json"
    _scorer(corpus).main(["--labels", str(label_file), "--db", str(built.db), "--json", str(out)])
    return json.loads(out.read_text())["metrics"]


@pytest.mark.parametrize("metric", sorted(BARS))
def test_validation_split_meets_the_bar(validation_scores, metric):
    value = validation_scores[metric]["value"]
    assert value >= BARS[metric], f"{metric} {value} < {BARS[metric]} on the validation split"


def _exact_shares(corpus: Path, split: str) -> dict[str, float]:
    docs = with_turns = para_ok = turns_ok = 0
    for lab in _labels(corpus):
        if split_of(lab["kremlin_id"]) != split:
            continue
        page = parse_page((corpus / "raw" / lab["file"]).read_text(encoding="utf-8"))
        assert isinstance(page, ParsedPage), (lab["file"], page)
        docs += 1
        para_ok += [p.text for p in page.paragraphs] == lab["paragraphs"]
        exp = [(t["label"], t["text"]) for t in lab["turns"]]
        got = [(t.label, t.text) for t in page.turns]
        if exp or got:
            with_turns += 1
            turns_ok += exp == got
    return {"paragraphs": para_ok / docs, "turns": turns_ok / with_turns}


def test_train_validation_gap_is_small(corpus):
    train, valid = _exact_shares(corpus, "train"), _exact_shares(corpus, "validation")
    for what, gap in MAX_GAP.items():
        assert train[what] - valid[what] <= gap, (what, train[what], valid[what])
