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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache, reduce
from itertools import islice
from operator import attrgetter, itemgetter, or_
from pathlib import Path
from typing import NamedTuple

from kremlin.lexicon import (
    ANONYMOUS_SPEAKERS,
    FUNCTION_WORDS,
    GIVEN_NAMES,
    NAME_PARTICLES,
    PRONOUNS,
    ROLE_WORDS,
    VERB_CUES,
)
from kremlin.names import clean_label
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
# A photo position: `(left)`, `(from left to right)`, `From left: …`. The parentheses are
# found first and the word looked for inside each: one pattern for both would backtrack
# over the whole line for every position word in an unclosed parenthesis (quadratic).
_PAREN_GROUP = re.compile(r"\(([^()]*)\)")
_POSITION_WORD = re.compile(r"\b(?:left|right|centre|center)\b")
_FROM_LEFT = re.compile(r"\b[Ff]rom left\b")
# Page context a line is compared with, bounded so a hostile page cannot make the
# comparisons quadratic: the first lead paragraphs and slider captions, each up to this
# many characters (the corpus's longest lead paragraph has 683, and no page has more than
# one slider caption).
_CONTEXT_ITEMS, _CONTEXT_CHARS = 16, 4_000
_CAPS_PREFIX = re.compile(r"^[A-Z][A-Z-]{3,}\. ")
_NUMBERED = re.compile(r"^\d{1,3}[.)] ")
_CLOCK = re.compile(r"^\d{1,2}[.:]\d{2}\b")
_LEN_BINS = (15, 30, 60, 100, 200, 400)
_WORD_BINS = (1, 2, 3, 6, 12, 25)

FINGERPRINT = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def _bin(n: int, bins: tuple[int, ...]) -> str:
    for k, b in enumerate(bins):
        if n <= b:
            return str(k)
    return str(len(bins))


@lru_cache(maxsize=1 << 12)
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


@lru_cache(maxsize=1 << 16)
def _head_shape(tok: str) -> str:
    """A token's part of the ``head=`` feature: its shape, and a comma that ends it."""
    return _shape(tok) + ("," if tok.endswith(",") else "")


_VC, _PRON, _ED_FORM, _END, _FUNC, _GIVEN = 1, 2, 4, 8, 16, 32
_GIVEN_SET = frozenset(GIVEN_NAMES)
_CLOSERS = '”"’»)]'


class Token(NamedTuple):
    word: str  # lower case, punctuation stripped
    flags: int
    ends: bool  # ends a sentence
    content: str  # the word unless it is a function word, else ""


_WORD_OF, _FLAGS_OF, _ENDS_OF, _CONTENT_OF = (itemgetter(i) for i in range(4))


def _tokens(toks: list[str]) -> list[Token]:
    """The ``Token`` of each token. Tokens recur across pages, so each is read once and
    kept in a plain dict: ``map(dict.__getitem__, …)`` runs in C at a third of the cost of a
    cached function's calls (the line's largest single cost). The dict is emptied when
    it grows past ``_TOKENS_MAX``, which bounds a worker's memory on any corpus. A line
    with a token not seen yet takes the slow path, which never reads the dict twice for
    one token: another thread (a Dask worker's) may empty it at any time."""
    try:
        return list(map(_TOKEN_OF.__getitem__, toks))
    except KeyError:
        if len(_TOKEN_OF) > _TOKENS_MAX:
            _TOKEN_OF.clear()
        return [_TOKEN_OF.get(tok) or _TOKEN_OF.setdefault(tok, _token(tok)) for tok in toks]


_TOKEN_OF: dict[str, Token] = {}
_TOKENS_MAX = 1 << 17


def _token(tok: str) -> Token:
    """(lower-case word, flags) of a token: a verb cue, a pronoun, an -ed form, the end of a
    sentence (not an initial such as `W.`), a function word."""
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
    if bare in _GIVEN_SET:
        flags |= _GIVEN
    return Token(low, flags, bool(flags & _END), "" if flags & _FUNC else low)


def _content_words(text: str) -> list[str]:
    return [w for w in _WORD_RE.findall(text.lower()) if w not in FUNCTION_WORDS]


@dataclass(frozen=True)
class PageContext:
    title_words: frozenset[str]
    title: str
    line_counts: Counter[str]
    line_grams: tuple[frozenset[tuple[str, ...]], ...]  # word 4-grams of each short line
    gram_counts: Counter[tuple[str, ...]]  # how many short lines have each 4-gram
    label_counts: Counter[str]  # speaker-label candidates (core) on the page
    label_last: Counter[str]  # last words of those candidates
    tag_surnames: frozenset[str]
    slider_captions: tuple[str, ...]
    slider_words: frozenset[str]
    summary: tuple[str, ...]  # the lead paragraphs above the date line
    summary_words: frozenset[str]
    title_bigrams: frozenset[tuple[str, str]]
    label_heads: Counter[str]  # first part (before a comma) of the speaker-label candidates
    first_label: int  # index of the first line read as `label: text`, or the number of lines
    n_labels: int


def label_candidate(lines: list[FreeLine], i: int) -> tuple[str, str] | None:
    """(label, rest) when the line reads as `label: rest`, or is a bare label whose colon
    opens the next line (`Ivan Petrov` / `: Thank you.`)."""
    t = lines[i].meta
    parts = split_label(t)
    if parts is not None:
        return parts
    if i + 1 < len(lines) and lines[i + 1].meta.startswith(":") and ":" not in t:
        return t, lines[i + 1].meta[1:].strip()
    return None


def _head(core: str) -> str:
    """A label's name part: `Ivan Petrov, engineer` → `Ivan Petrov`."""
    return core.split(",", 1)[0].strip()


def _bigrams(words: list[str]) -> set[tuple[str, str]]:
    return set(zip(words, words[1:], strict=False))


def page_context(
    lines: list[FreeLine],
    candidates: list[tuple[str, str] | None],
    title: str,
    tag_surnames: frozenset[str],
    slider_captions: list[str],
    summary: list[str],
) -> PageContext:
    cores = [_label_alone(c[0])[0] for c in candidates if c is not None]
    first_label = next((k for k, c in enumerate(candidates) if c is not None), len(lines))
    grams = tuple(_grams(ln.meta) if len(ln.meta) <= _OVERLAP_MAX else frozenset() for ln in lines)
    return PageContext(
        title_words=frozenset(_content_words(title)),
        title=title.rstrip("."),
        line_counts=Counter(map(attrgetter("meta"), lines)),
        line_grams=grams,
        gram_counts=Counter(g for gs in grams for g in gs),
        label_counts=Counter(cores),
        label_last=Counter(c.split()[-1] for c in cores if c),
        tag_surnames=tag_surnames,
        slider_captions=_bounded(slider_captions),
        slider_words=frozenset(w for c in slider_captions for w in _content_words(c)),
        summary=_bounded(p.rstrip(".") for p in summary),
        summary_words=frozenset(w for p in summary for w in _content_words(p)),
        title_bigrams=frozenset(_bigrams([_word(w) for w in title.split()])),
        label_heads=Counter(map(_head, cores)),
        first_label=first_label,
        n_labels=len(cores),
    )


def _grams(text: str) -> frozenset[tuple[str, ...]]:
    """The line's distinct word 4-grams, in lower case, over its first tokens."""
    w = text.lower().split()[:_HEAD_TOKENS]
    return frozenset(zip(w, w[1:], w[2:], w[3:], strict=False))


def _bounded(texts: Iterable[str]) -> tuple[str, ...]:
    return tuple(t[:_CONTEXT_CHARS] for t in islice(texts, _CONTEXT_ITEMS))


def _name_like(word: str) -> bool:
    """A word that can be part of a personal name: capitalised (`Putin`, `al-Assad`,
    `O’Neill`) or a lower-case name particle (`bin`, `von`)."""
    return word[:1].isupper() or word in NAME_PARTICLES or any(p[:1].isupper() for p in word.split("-")[1:])


def _binned(prefix: str, bins: tuple[int, ...]) -> tuple[str, ...]:
    """Feature strings of ``_bin`` for 0 … bins[-1] + 1 (anything larger takes the last)."""
    return tuple(prefix + _bin(i, bins) for i in range(bins[-1] + 2))


def _at(table: tuple[str, ...], n: int) -> str:
    return table[n] if n < len(table) else table[-1]


_LEN_F = _binned("len=", _LEN_BINS)
_NW_F = _binned("nw=", _WORD_BINS)
_SENT_F = _binned("sent=", (0, 1, 2))
_FLPOS_F = _binned("flpos=", (0, 1, 2, 5))
_PGLAB_F = _binned("pg_lab=", (0, 1, 4))
_REP_F = _binned("rep=", (2, 3))
_TBG_F = _binned("tbg=", (0, 1, 3))
_LNW_F = _binned("lab_nw=", _WORD_BINS)
_LTAIL_F = _binned("lab_tail=", (0, 1, 2, 3))
_LREP_F = _binned("lrep=", (1, 2, 4))
_LHEAD_F = _binned("lhead_rep=", (0, 1, 3))
_LLAST_F = _binned("llast=", (1, 2, 4))


def _share(hits: int, total: int) -> str:
    return "hi" if 5 * hits >= 3 * total else "mid" if 10 * hits >= 3 * total else "lo"


def _caps(words: Sequence[str]) -> str:
    caps = len([w for w in words if w[:1].isupper()])
    return "all" if caps == len(words) else "most" if 2 * caps > len(words) else "few"


@dataclass(frozen=True, slots=True)
class LineFeatures:
    """A line's own features, and the parts of them its neighbours see (``near`` at ±1,
    ``far`` at ±2)."""

    own: list[str]
    near: list[str]
    far: list[str]


def _label_features(label: str, rest: str, ctx: PageContext) -> tuple[list[str], list[str]]:
    """Features of a `label: rest` line: those the neighbours also see, and the others."""
    core, words, shared, own = _label_alone(label)
    if not words:
        return list(shared), list(own)
    out = list(own)
    out.append(_at(_LREP_F, ctx.label_counts[core]))
    head = _head(core)
    if head != core:
        # `Ivan Petrov, engineer:` introduces a speaker the page later labels `Ivan Petrov:`.
        out.append(_at(_LHEAD_F, ctx.label_counts[head] + ctx.label_heads[head] - 1))
    out.append(_at(_LLAST_F, ctx.label_last[words[-1]]))
    if words[-1] in ctx.tag_surnames:
        out.append("lsur")
    out.append("rest_empty" if not rest else "rest=" + _cls(rest[0]))
    return list(shared), out


@lru_cache(maxsize=1 << 14)
def _label_alone(label: str) -> tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(core, words, shared, own) of a label by itself: what does not depend on the page.
    Speaker labels recur across pages, so each is read once."""
    core = core_label(label)
    # Its words as names reads them: a label printed without its spaces (`MaximTopilin`) is
    # two words.
    words = tuple(clean_label(core).split())
    if not words:
        return core, words, ("lab", "lab_empty"), ()
    first, last = _word(words[0]), _word(words[-1])
    shared = [
        "lab",
        _at(_LNW_F, len(words)),
        "lab_cap=" + _caps(words),
        "lab_s0=" + _shape(words[0]),
        "lab_sl=" + _shape(words[-1]),
    ]
    tail = 0
    for w in reversed(words):
        if not _name_like(w):
            break
        tail += 1
    shared.append(_at(_LTAIL_F, tail))
    if tail >= 2 and last not in ROLE_WORDS and _word(words[-2]) not in ROLE_WORDS:
        shared.append("lab_name")
    if label != core:
        shared.append("lab_paren")
    if any(c.isdigit() for c in core):
        shared.append("lab_digit")
    if "," in core:
        shared.append("lab_comma")
    if any(w in VERB_CUES or w in PRONOUNS for w in words):
        shared.append("lab_verb")
    own = ["lw0=" + first, "lwl=" + last]
    if any(w in _GIVEN_SET for w in words):
        # A given name in the label: a person speaks (`Second:` and `Deadline:` have none).
        shared.append("lab_given")
    if core.lower() in ANONYMOUS_SPEAKERS or first in ANONYMOUS_SPEAKERS:
        own.append("lanon")
    if last in ROLE_WORDS:
        own.append("lrole_last")
    if any(_word(w) in ROLE_WORDS for w in words[:-1]):
        own.append("lrole_any")
    return core, words, tuple(shared), tuple(own)


def _first_lower(toks: list[str], out: list[str]) -> None:
    """The first lower-case word after a run of names: a participle or preposition makes a
    caption (`Ivan Petrov addressing …`, `… at the meeting`), a finite verb a sentence."""
    for j, w in enumerate(toks):
        if w[:1].islower():
            out.extend(_first_lower_word(w))
            out.append(_at(_FLPOS_F, j))
            return


@lru_cache(maxsize=1 << 16)
def _first_lower_word(tok: str) -> tuple[str, ...]:
    fl = _word(tok)
    if fl.endswith("ing"):
        return ("fl=" + fl, "fl_ing")
    if fl.endswith("ed"):
        return ("fl=" + fl, "fl_ed")
    if fl.endswith("s"):
        return ("fl=" + fl, "fl_s")
    if fl in FUNCTION_WORDS:
        return ("fl=" + fl, "fl_func")
    return ("fl=" + fl,)


def _marks(t: str, out: list[str], near: list[str]) -> None:
    """Punctuation and layout marks anywhere in the line."""
    if "?" in t:
        out.append("qmark")
    if "!" in t:
        out.append("excl")
    # The patterns need a "(" or "rom left": most lines with "right" or "percent" have neither.
    if ("(" in t or "rom left" in t) and ("left" in t or "right" in t or "cent" in t) and _photo_position(t):
        out.append("photo_pos")
    if t[0].isupper() and _CAPS_PREFIX.match(t):
        near.append("caps_prefix")
    if t[0].isdigit():
        if _NUMBERED.match(t):
            out.append("numbered")
        if _CLOCK.match(t):
            out.append("clock")
    if " – " in t or " — " in t:
        out.append("dash")
    if "\\'" in t:
        out.append("escaped")


def _photo_position(t: str) -> bool:
    return _FROM_LEFT.search(t) is not None or any(map(_POSITION_WORD.search, _PAREN_GROUP.findall(t)))


def _overlap_features(core: str, info: list[Token], first_end: int, ctx: PageContext) -> list[str]:
    """How much a short line repeats the page's own title, lead and slider captions: a
    photo caption or a video description restates them, a paragraph of the text seldom does.
    Shares are of the line's distinct content words (set operations, no per-word loop)."""
    out = []
    words = set(map(_CONTENT_OF, info))
    words.discard("")
    n = len(words)
    if n >= 3:
        out.append("title=" + _share(len(words & ctx.title_words), n))
        if ctx.slider_words:
            out.append("slw=" + _share(len(words & ctx.slider_words), n))
        if ctx.summary_words:
            out.append("sum=" + _share(len(words & ctx.summary_words), n))
    if 0 <= first_end < len(info) - 1:
        first = set(map(_CONTENT_OF, info[: first_end + 1]))
        first.discard("")
        if len(first) >= 2:
            out.append("title1=" + _share(len(first & ctx.title_words), len(first)))
    if ctx.summary:
        if core in ctx.summary:
            out.append("eq_sum")
        elif len(core) > 30 and any(core in p or p in core for p in ctx.summary):
            out.append("in_sum")
    if ctx.title_bigrams:
        tokens = list(map(_WORD_OF, info))
        # intersection() reads the pairs as they come: no set of all the line's pairs is built.
        out.append(_at(_TBG_F, len(ctx.title_bigrams.intersection(zip(tokens, tokens[1:], strict=False)))))
    return out


def line_features(
    line: FreeLine, k: int, n: int, candidate: tuple[str, str] | None, ctx: PageContext
) -> LineFeatures:
    """The features of one free line by itself (position ``k`` of ``n``)."""
    t = line.meta
    toks = t.split()
    end, beg = "end=" + _cls(t[-1]), "beg=" + _cls(t[0])
    near = [
        _at(_LEN_F, len(t)),
        _at(_NW_F, len(toks)),
        end,
        beg,
        "w0=" + _word(toks[0]),
        "s0=" + _shape(toks[0]),
        "sl=" + _shape(toks[-1]),
    ]
    where = "lab_before" if ctx.first_label < k else "lab_after" if ctx.first_label > k else "lab_here"
    far = [end, beg, where]
    near.append(where)
    if line.lead_space:
        near.append("lead")
    if line.blank_before:
        near.append("bb")
        far.append("bb")
    if t.isupper() and len(t) > 1:
        near.append("caps")
    if len(toks) <= 12:
        near.append("cap=" + _caps(toks))
    # Sentences, grammar cues and title words are read off the first tokens: a line
    # longer than that is a paragraph by its length alone.
    info = _tokens(toks[:_HEAD_TOKENS])
    flags = reduce(or_, map(_FLAGS_OF, info), 0)
    ends = list(map(_ENDS_OF, info))
    n_ends = sum(ends)
    if flags & _VC:
        near.append("vc")
    if flags & _PRON:
        near.append("pron")
    out = [
        "fb=" + line.fixed_before,
        "fa=" + line.fixed_after,
        "wl=" + _word(toks[-1]),
        _at(_SENT_F, n_ends),
        "head=" + " ".join(map(_head_shape, toks[:3])),
        _at(_PGLAB_F, ctx.n_labels),
    ]
    if len(toks) > 1:
        out.append("w1=" + _word(toks[1]))
    _first_lower(toks, out)
    if k == 0:
        out.append("pos0")
    elif k == 1:
        out.append("pos1")
    if k == n - 1:
        out.append("posl")
    if n <= 2:
        # A page whose body is one or two lines: most often its text, seldom a caption.
        out.append("nfree=" + str(n))
    if flags & _ED_FORM:
        out.append("ed")
    if flags & _GIVEN:
        out.append("given")
    _marks(t, out, near)
    if candidate is not None:
        shared, own = _label_features(*candidate, ctx)
        near.extend(shared)
        far.extend(shared)
        out.extend(own)
    elif ":" in t:
        out.append("colon_mid")
    core = t.rstrip(".")
    if core == ctx.title:
        out.append("eq_title")
    if len(t) <= _OVERLAP_MAX:
        out.extend(_overlap_features(core, info, ends.index(True) if n_ends else -1, ctx))
    if len(t) <= _OVERLAP_MAX:
        # The captions of a photo series share a template (`Order of Friendship was awarded
        # to …`) that the page's paragraphs seldom repeat.
        counts = ctx.gram_counts
        shared = sum(counts[g] >= 2 for g in ctx.line_grams[k])
        out.append("ng=0" if not shared else "ng=1" if shared <= 2 else "ng=3")
    reps = ctx.line_counts[t]
    if reps >= 2:
        out.append(_at(_REP_F, reps))
    if ctx.slider_captions:
        if any(core == c.rstrip(".") for c in ctx.slider_captions):
            out.append("slcap_eq")
        elif len(core) > 15 and any(core in c for c in ctx.slider_captions):
            out.append("slcap_in")
    return LineFeatures(near + out, near, far)


def sequence_features(
    lines: list[FreeLine],
    title: str,
    tag_surnames: frozenset[str],
    slider_captions: list[str],
    summary: list[str],
) -> list[dict[str, list[str]]]:
    """Feature lists of every free line of a page, neighbours included, as python-crfsuite
    items: ``{"0": own, "-1": previous line's, "+1": next line's, …}``; the tagger joins
    each prefix and feature (``-1:len=2``) in C, so no string is built here for it."""
    n = len(lines)
    candidates = [label_candidate(lines, i) for i in range(n)]
    ctx = page_context(lines, candidates, title, tag_surnames, slider_captions, list(summary))
    feats = [line_features(ln, k, n, candidates[k], ctx) for k, ln in enumerate(lines)]
    seq: list[dict[str, list[str]]] = []
    for k, lf in enumerate(feats):
        pairs = []
        item = {"0": lf.own, "x": pairs}
        if k > 0:
            prev = feats[k - 1]
            item["-1"] = prev.near
            pairs.append("pe|b=" + prev.near[2][4:] + lf.near[3][4:])
            if k + 1 < n and "pron" not in lf.near and "pron" in prev.near and "pron" in feats[k + 1].near:
                # A third-person line between two lines of speech: a caption, not the speech.
                pairs.append("nopron_in_speech")
        else:
            pairs.append("first")
        if k + 1 < n:
            nxt = feats[k + 1]
            item["+1"] = nxt.near
            pairs.append("e|nb=" + lf.near[2][4:] + nxt.near[3][4:])
        else:
            pairs.append("last")
        if k > 1:
            item["-2"] = feats[k - 2].far
        if k + 2 < n:
            item["+2"] = feats[k + 2].far
        seq.append(item)
    return seq
