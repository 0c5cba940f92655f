"""The line labeller's features and label repair, on small snippets (table-driven)."""

from __future__ import annotations

import pytest

from kremlin.parser.body import FreeLine
from kremlin.parser.features import sequence_features
from kremlin.parser.labeller import consistent


def _lines(*texts: str) -> list[FreeLine]:
    return [FreeLine(t, False, k == 0, "", "", t) for k, t in enumerate(texts)]


def _features(texts: tuple[str, ...], k: int, *, title: str = "", summary: tuple[str, ...] = ()) -> set[str]:
    """Line ``k``'s features as the tagger sees them (``group:feature``)."""
    item = sequence_features(_lines(*texts), title, frozenset(), [], list(summary))[k]
    return {f"{group}:{f}" for group, fs in item.items() for f in fs}


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (["P", "X", "C", "P"], ["P", "P", "C", "P"]),  # a continued line is a paragraph
        (["X", "C", "C"], ["P", "C", "C"]),
        (["X", "X", "C"], ["X", "P", "C"]),
        (["P", "X", "P"], ["P", "X", "P"]),  # a caption between paragraphs stays one
        (["T", "C", "X"], ["T", "C", "X"]),
        ([], []),
    ],
)
def test_consistent_labels(labels, expected) -> None:
    assert consistent(list(labels)) == expected


@pytest.mark.parametrize(
    ("texts", "k", "kwargs", "present", "absent"),
    [
        # The lead repeated in the body (a video description) is marked as such.
        (
            ("The President met with students.", "We discussed the budget at length today."),
            0,
            {"summary": ("The President met with students.",)},
            {"0:eq_sum"},
            {"0:in_sum"},
        ),
        (
            ("We discussed the budget at length today.",),
            0,
            {"summary": ("The President met with students.",)},
            set(),
            {"0:eq_sum", "0:in_sum"},
        ),
        # Word pairs shared with the title: a caption restates the event.
        (
            ("Vladimir Putin at the plenary meeting of the Rectors Union.",),
            0,
            {"title": "Plenary meeting of the Rectors Union congress"},
            {"0:tbg=3"},
            set(),
        ),
        (
            ("Thank you very much for coming.",),
            0,
            {"title": "Plenary meeting of the Rectors Union congress"},
            {"0:tbg=0"},
            set(),
        ),
        # `Name, role:` introduces a speaker the page labels `Name:` later.
        (
            ("Anna Petrova, engineer: Good afternoon.", "Vladimir Putin: Hello.", "Anna Petrova: Thank you."),
            0,
            {},
            {"0:lhead_rep=2", "0:lab_comma"},
            set(),
        ),
        # A name with a lower-case particle or a hyphenated prefix is still a name.
        (("Bashar al-Assad: Thank you.",), 0, {}, {"0:lab_tail=2", "0:lab_name"}, set()),
        (("Mohammed bin Salman: Thank you.",), 0, {}, {"0:lab_tail=3", "0:lab_name"}, set()),
        # A label printed without its space is read as the two words of a name.
        (
            ("MaximTopilin: The figures are ready.",),
            0,
            {},
            {"0:lab_nw=1", "0:lab_tail=2", "0:lab_name", "0:lab_given", "0:lwl=topilin"},
            {"0:lab_nw=0"},
        ),
        # A third-person line between two lines of speech.
        (
            (
                "I think we should go on.",
                "Ivan Petrov and Anna Petrova at the meeting.",
                "We agree with you.",
            ),
            1,
            {},
            {"x:nopron_in_speech"},
            set(),
        ),
        (
            ("I think we should go on.", "We are sure of it.", "We agree with you."),
            1,
            {},
            set(),
            {"x:nopron_in_speech"},
        ),
        # The captions of a photo series share a template: word 4-grams another short line has.
        (
            (
                "Order of Friendship was awarded to Ivan Petrov, engineer.",
                "I am grateful for this high award.",
                "Order of Friendship was awarded to Anna Sidorova, teacher.",
            ),
            0,
            {},
            {"0:ng=3"},
            {"0:ng=0"},
        ),
        (
            ("Order of Friendship was awarded to Ivan Petrov.", "Friendship was awarded to him today."),
            0,
            {},
            {"0:ng=1"},
            set(),
        ),
        (
            ("Order of Friendship was awarded to Ivan Petrov.", "I am grateful for this high award."),
            1,
            {},
            {"0:ng=0"},
            {"0:ng=1", "0:ng=3"},
        ),
        # A long line is a paragraph by its length: it gets no template feature, nor counts for one.
        (
            (
                "Order of Friendship was awarded to Ivan Petrov. " + "More words here. " * 30,
                "Order of Friendship was awarded to him.",
            ),
            1,
            {},
            {"0:ng=0"},
            {"0:ng=1", "0:ng=3"},
        ),
        # Neighbours are seen under their position.
        (
            ("First line here.", "Second line: with a colon.", "Third."),
            1,
            {},
            {"-1:end=.", "+1:end=.", "x:pe|b=.U"},
            {"-2:end=."},
        ),
    ],
)
def test_line_features(texts, k, kwargs, present, absent) -> None:
    got = _features(texts, k, **kwargs)
    assert present <= got, sorted(present - got)
    assert not (absent & got), sorted(absent & got)


def test_the_bounded_token_table_gives_the_tokens_of_a_fresh_read(monkeypatch) -> None:
    """Each token is read once into a bounded table: emptied past its bound (here after
    every two entries), it still gives every token exactly what a fresh read gives."""
    from kremlin.parser import features

    monkeypatch.setattr(features, "_TOKEN_OF", {})
    monkeypatch.setattr(features, "_TOKENS_MAX", 2)
    lines = [
        "President of Russia Vladimir Putin: Good afternoon, colleagues.",
        "W. Bush visited Moscow; he talked, and they agreed.",
        "Good afternoon, colleagues. We discussed it.",
    ]
    for text in lines * 2:
        toks = text.split()
        assert features._tokens(toks) == [features._token(t) for t in toks]
        assert len(features._TOKEN_OF) <= 2 + len(toks)
