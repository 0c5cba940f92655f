"""The learned line labeller: a linear-chain CRF (python-crfsuite) over the free body lines.

The model file and its metadata live in ``kremlin/parser/model/`` (``make train`` rebuilds
them from the labelled corpus, see tools/train_parser.py and docs/parser.md). They are
loaded once, at import.
"""

from __future__ import annotations

import json
from pathlib import Path

import pycrfsuite

from kremlin.parser import model
from kremlin.parser.body import FreeLine
from kremlin.parser.features import FINGERPRINT, sequence_features

# Imported as a package so that the parser fingerprint (the import closure of kremlin.shards
# and its packages' data files) covers the model files.
MODEL_DIR = Path(model.__file__).resolve().parent
MODEL_FILE = MODEL_DIR / "body.crfsuite"
META_FILE = MODEL_DIR / "body.json"


def _open() -> pycrfsuite.Tagger | None:
    if not MODEL_FILE.exists():
        return None
    tagger = pycrfsuite.Tagger()
    tagger.open(str(MODEL_FILE))
    return tagger


_TAGGER = _open()


def model_metadata() -> dict:
    return json.loads(META_FILE.read_text(encoding="utf-8")) if META_FILE.exists() else {}


def model_is_current() -> bool:
    """The model was trained on the features this code computes."""
    return _TAGGER is not None and model_metadata().get("feature_fingerprint") == FINGERPRINT


def consistent(labels: list[str]) -> list[str]:
    """Labels that assemble into paragraphs: a line the next line continues (``C``) is a
    paragraph's text, so it cannot be a caption (``X``); the tagger scores each transition
    but does not forbid one it never saw in training."""
    for k in range(len(labels) - 1, 0, -1):
        if labels[k] == "C" and labels[k - 1] == "X":
            labels[k - 1] = "P"
    return labels


def label_lines(
    lines: list[FreeLine],
    title: str,
    tag_surnames: frozenset[str],
    slider_captions: list[str],
    summary: list[str],
) -> list[str]:
    """One of P, T, C, X per free line (all P without a model, e.g. before the first training)."""
    if not lines:
        return []
    if _TAGGER is None:
        return ["P"] * len(lines)
    feats = sequence_features(lines, title, tag_surnames, slider_captions, summary)
    return consistent(list(_TAGGER.tag(feats)))
