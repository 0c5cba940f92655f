"""Shallow features of a free body line and its neighbours, for the line labeller.

Each line's own features are computed once (``line_features``); a line's feature list is
its own features plus those of its neighbours under a position prefix. The features are
layout and shape (length, first and last characters, capitalisation, colon position,
blank line or slider before it), grammar cues from the general lexicon (auxiliaries,
pronouns, -ed forms), the first and last words, and page context (the page title, lines
and speaker labels that recur on the page, footer person tags, slider captions).

The model file records a fingerprint of this module: a feature change requires
``make train``.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from kremlin.lexicon import ANONYMOUS_SPEAKERS, FUNCTION_WORDS, PRONOUNS, ROLE_WORDS, VERB_CUES
from kremlin.parser.body import FreeLine
from kremlin.parser.turns import core_label, split_label

_PUNCT = "\"'“”„«»‘’()[]{},.;:!?…*–—-"
_SENTENCE_END = re.compile(r"(?<!\b[A-Z])[.!?…](?:\s|$)")
_SHAPE = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    "X" * 26 + "x" * 26 + "d" * 10,
)
# Title and caption overlap is a cue for short lines only (captions are short).
_OVERLAP_MAX = 400
_HEAD_TOKENS = 40
_WORD_RE = re.compile(r"\w[\w’'-]*")
_PHOTO_POSITION = re.compile(r"\((?:[^()]*\b(?:left|right|centre|center)\b[^()]*)\)|\b[Ff]rom left\b")
_CAPS_PREFIX = re.compile(r"^[A-Z][A-Z-]{3,}\. ")
_NUMBERED = re.compile(r"^\d{1,3}[.)] ")
_CLOCK = re.compile(r"^\d{1,2}[.:]\d{2}\b")
_LEN_BINS = (15, 30, 60, 100, 200, 400)
_WORD_BINS = (1, 2, 3, 6, 12, 25)
# Features also given to the neighbours (a neighbour's full list would blur the signal).
_CONTEXT = (
    "len=",
    "nw=",
    "end=",
    "beg=",
    "lead",
    "bb",
    "lab",
    "caps",
    "w0=",
    "s0=",
    "sl=",
    "vc",
    "pron",
    "cap=",
)
_FAR = ("end=", "beg=", "lab", "bb")

FINGERPRINT = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def _bin(n: int, bins: tuple[int, ...]) -> str:
    for k, b in enumerate(bins):
        if n <= b:
            return str(k)
    return str(len(bins))


def _cls(ch: str) -> str:
    if ch.isupper():
        return "U"
    if ch.islower():
        return "l"
    if ch.isdigit():
        return "d"
    if ch.isalpha():
        return "a"
    return ch if ch in _PUNCT or ch in "<>" else "o"


@lru_cache(maxsize=1 << 16)
def _shape(tok: str) -> str:
    """`Putin` → `Xx`, `EAEU,` → `X,`, `2020` → `d`: character classes, runs collapsed."""
    out, prev = [], ""
    for ch in tok[:12].translate(_SHAPE):
        if ch != prev:
            out.append(ch)
            prev = ch
    return "".join(out[:6])


@lru_cache(maxsize=1 << 16)
def _word(tok: str) -> str:
    return tok.strip(_PUNCT).lower()


_VC, _PRON, _ED_FORM, _END, _FUNC = 1, 2, 4, 8, 16
_CLOSERS = '”"’»)]'


@lru_cache(maxsize=1 << 17)
def _token(tok: str) -> tuple[str, int]:
    """(lower-case word, flags) of a token: a verb cue, a pronoun, an -ed form, the end of a
    sentence (not an initial such as `W.`), a function word. Tokens recur across pages,
    so each is read once."""
    bare = tok.strip(_PUNCT)
    low = bare.lower()
    flags = 0
    if low in VERB_CUES:
        flags |= _VC
    if bare in PRONOUNS:
        flags |= _PRON
    if len(bare) >= 6 and bare.endswith("ed") and bare.isalpha() and bare.islower():
        flags |= _ED_FORM
    if tok.rstrip(_CLOSERS)[-1:] in (".", "!", "?", "…") and not (len(bare) == 1 and bare.isupper()):
        flags |= _END
    if low in FUNCTION_WORDS:
        flags |= _FUNC
    return low, flags


def _content_words(text: str) -> list[str]:
    return [w for w in _WORD_RE.findall(text.lower()) if w not in FUNCTION_WORDS]


@dataclass(frozen=True)
class PageContext:
    title_words: frozenset[str]
    title: str
    line_counts: Counter[str]
    label_counts: Counter[str]  # speaker-label candidates (core) on the page
    label_last: Counter[str]  # last words of those candidates
    tag_surnames: frozenset[str]
    slider_captions: tuple[str, ...]
    slider_words: frozenset[str]
    first_label: int  # index of the first line read as `label: text`, or the number of lines
    n_labels: int


def label_candidate(lines: list[FreeLine], i: int) -> tuple[str, str] | None:
    """(label, rest) when the line reads as `label: rest`, or is a bare label whose colon
    opens the next line (`Ivan Petrov` / `: Thank you.`)."""
    t = lines[i].text
    parts = split_label(t)
    if parts is not None:
        return parts
    if i + 1 < len(lines) and lines[i + 1].text.startswith(":") and ":" not in t:
        return t, lines[i + 1].text[1:].strip()
    return None


def page_context(
    lines: list[FreeLine],
    candidates: list[tuple[str, str] | None],
    title: str,
    tag_surnames: frozenset[str],
    slider_captions: list[str],
) -> PageContext:
    cores = [core_label(c[0]) for c in candidates if c is not None]
    first_label = next((k for k, c in enumerate(candidates) if c is not None), len(lines))
    return PageContext(
        title_words=frozenset(_content_words(title)),
        title=title.rstrip("."),
        line_counts=Counter(ln.text for ln in lines),
        label_counts=Counter(cores),
        label_last=Counter(c.split()[-1] for c in cores if c),
        tag_surnames=tag_surnames,
        slider_captions=tuple(slider_captions),
        slider_words=frozenset(w for c in slider_captions for w in _content_words(c)),
        first_label=first_label,
        n_labels=len(cores),
    )


def _label_features(label: str, rest: str, ctx: PageContext, out: list[str]) -> None:
    core = core_label(label)
    words = core.split()
    out.append("lab")
    if not words:
        out.append("lab_empty")
        return
    out.append("lab_nw=" + _bin(len(words), _WORD_BINS))
    caps = sum(1 for w in words if w[:1].isupper())
    out.append("lab_cap=" + ("all" if caps == len(words) else "most" if 2 * caps > len(words) else "few"))
    out.append("lab_s0=" + _shape(words[0]))
    out.append("lab_sl=" + _shape(words[-1]))
    first, last = _word(words[0]), _word(words[-1])
    out.append("lw0=" + first)
    out.append("lwl=" + last)
    tail = 0
    for w in reversed(words):
        if not w[:1].isupper():
            break
        tail += 1
    out.append("lab_tail=" + _bin(tail, (0, 1, 2, 3)))
    if tail >= 2 and _word(words[-1]) not in ROLE_WORDS and _word(words[-2]) not in ROLE_WORDS:
        out.append("lab_name")
    if label != core:
        out.append("lab_paren")
    if any(c.isdigit() for c in core):
        out.append("lab_digit")
    if "," in core:
        out.append("lab_comma")
    if core.lower() in ANONYMOUS_SPEAKERS or first in ANONYMOUS_SPEAKERS:
        out.append("lanon")
    if last in ROLE_WORDS:
        out.append("lrole_last")
    if any(_word(w) in ROLE_WORDS for w in words[:-1]):
        out.append("lrole_any")
    if any(w in VERB_CUES or w in PRONOUNS for w in words):
        out.append("lab_verb")
    out.append("lrep=" + _bin(ctx.label_counts[core], (1, 2, 4)))
    out.append("llast=" + _bin(ctx.label_last[words[-1]], (1, 2, 4)))
    if words[-1] in ctx.tag_surnames:
        out.append("lsur")
    if not rest:
        out.append("rest_empty")
    else:
        out.append("rest=" + _cls(rest[0]))


def line_features(
    line: FreeLine, k: int, n: int, candidate: tuple[str, str] | None, ctx: PageContext
) -> list[str]:
    """The features of one free line by itself (position ``k`` of ``n``)."""
    t = line.text
    toks = t.split()
    out = [
        "len=" + _bin(len(t), _LEN_BINS),
        "nw=" + _bin(len(toks), _WORD_BINS),
        "end=" + _cls(t[-1]),
        "beg=" + _cls(t[0]),
        "fb=" + line.fixed_before,
        "fa=" + line.fixed_after,
        "w0=" + _word(toks[0]),
        "wl=" + _word(toks[-1]),
        "s0=" + _shape(toks[0]),
        "sl=" + _shape(toks[-1]),
    ]
    # Sentences, grammar cues and title words are read off the first tokens: a line
    # longer than that is a paragraph by its length alone.
    info = [_token(w) for w in toks[:_HEAD_TOKENS]]
    flags = 0
    ends = 0
    first_end = -1
    for j, (_, f) in enumerate(info):
        flags |= f
        if f & _END:
            ends += 1
            if first_end < 0:
                first_end = j
    out.append("sent=" + _bin(ends, (0, 1, 2)))
    if len(toks) > 1:
        out.append("w1=" + _word(toks[1]))
    head = " ".join(_shape(w) + ("," if w.endswith(",") else "") for w in toks[:3])
    out.append("head=" + head)
    lower = next((j for j, w in enumerate(toks) if w[:1].islower()), -1)
    if lower >= 0:
        fl = _word(toks[lower])
        out.append("fl=" + fl)
        # The first lower-case word after a run of names: a participle or preposition makes
        # a caption (`Ivan Petrov addressing …`, `… at the meeting`), a finite verb a sentence.
        if fl.endswith("ing"):
            out.append("fl_ing")
        elif fl.endswith("ed"):
            out.append("fl_ed")
        elif fl.endswith("s"):
            out.append("fl_s")
        elif fl in FUNCTION_WORDS:
            out.append("fl_func")
        out.append("flpos=" + _bin(lower, (0, 1, 2, 5)))
    out.append("pg_lab=" + _bin(ctx.n_labels, (0, 1, 4)))
    out.append("lab_before" if ctx.first_label < k else "lab_after" if ctx.first_label > k else "lab_here")
    if line.lead_space:
        out.append("lead")
    if line.blank_before:
        out.append("bb")
    if k == 0:
        out.append("pos0")
    elif k == 1:
        out.append("pos1")
    if k == n - 1:
        out.append("posl")
    if t.isupper() and len(t) > 1:
        out.append("caps")
    if len(toks) <= 12:
        caps = sum(1 for w in toks if w[:1].isupper())
        out.append("cap=" + ("all" if caps == len(toks) else "most" if 2 * caps > len(toks) else "few"))
    if flags & _VC:
        out.append("vc")
    if flags & _PRON:
        out.append("pron")
    if flags & _ED_FORM:
        out.append("ed")

    if "?" in t:
        out.append("qmark")
    if "!" in t:
        out.append("excl")
    if ("left" in t or "right" in t or "cent" in t) and _PHOTO_POSITION.search(t):
        out.append("photo_pos")
    if _CAPS_PREFIX.match(t):
        out.append("caps_prefix")
    if _NUMBERED.match(t):
        out.append("numbered")
    if _CLOCK.match(t):
        out.append("clock")
    if " – " in t or " — " in t:
        out.append("dash")
    if "\\'" in t:
        out.append("escaped")
    if candidate is not None:
        _label_features(*candidate, ctx, out)
    elif ":" in t:
        out.append("colon_mid")
    core = t.rstrip(".")
    if core == ctx.title:
        out.append("eq_title")
    short = len(t) <= _OVERLAP_MAX
    words = [w for w, f in info if w and not f & _FUNC] if short else []
    if len(words) >= 3:
        share = sum(w in ctx.title_words for w in words) / len(words)
        out.append("title=" + ("hi" if share >= 0.6 else "mid" if share >= 0.3 else "lo"))
        if ctx.slider_words:
            share = sum(w in ctx.slider_words for w in words) / len(words)
            out.append("slw=" + ("hi" if share >= 0.6 else "mid" if share >= 0.3 else "lo"))
    if short and 0 <= first_end < len(info) - 1:
        words = [w for w, f in info[: first_end + 1] if w and not f & _FUNC]
        if len(words) >= 2:
            share = sum(w in ctx.title_words for w in words) / len(words)
            out.append("title1=" + ("hi" if share >= 0.6 else "mid" if share >= 0.3 else "lo"))
    reps = ctx.line_counts[t]
    if reps >= 2:
        out.append("rep=" + _bin(reps, (2, 3)))
    if ctx.slider_captions:
        if any(core == c.rstrip(".") for c in ctx.slider_captions):
            out.append("slcap_eq")
        elif len(core) > 15 and any(core in c for c in ctx.slider_captions):
            out.append("slcap_in")
    return out


def sequence_features(
    lines: list[FreeLine], title: str, tag_surnames: frozenset[str], slider_captions: list[str]
) -> list[list[str]]:
    """Feature lists of every free line of a page, neighbours included."""
    n = len(lines)
    candidates = [label_candidate(lines, i) for i in range(n)]
    ctx = page_context(lines, candidates, title, tag_surnames, slider_captions)
    own = [line_features(ln, k, n, candidates[k], ctx) for k, ln in enumerate(lines)]
    near = [[f for f in fs if f.startswith(_CONTEXT)] for fs in own]
    far = [[f for f in fs if f.startswith(_FAR)] for fs in own]
    seq = []
    for k in range(n):
        fs = list(own[k])
        if k > 0:
            fs.extend(["-1:" + f for f in near[k - 1]])
            fs.append("pe|b=" + own[k - 1][2][4:] + own[k][3][4:])
        else:
            fs.append("-1:none")
        if k + 1 < n:
            fs.extend(["+1:" + f for f in near[k + 1]])
            fs.append("e|nb=" + own[k][2][4:] + own[k + 1][3][4:])
        else:
            fs.append("+1:none")
        if k > 1:
            fs.extend(["-2:" + f for f in far[k - 2]])
        if k + 2 < n:
            fs.extend(["+2:" + f for f in far[k + 2]])
        seq.append(fs)
    return seq
