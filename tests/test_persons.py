"""Tests for speaker-label parsing and person resolution (kremlin.names, kremlin.persons)."""

from __future__ import annotations

import collections
import json
import random
import time
from dataclasses import replace
from pathlib import Path

import pytest

from kremlin import persons
from kremlin.persons import DocPeople, KnownPerson, Resolution, Speaker, parse_speaker_label, resolve_people

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus"
FOLD_VISIBLE = 4  # the page shows 4 tags of a folded block

# ----------------------------------------------------------------------------- label parsing

PERSON_LABELS = [
    ("President of Russia Vladimir Putin", "Vladimir Putin", "President of Russia"),
    ("Vladimir Putin", "Vladimir Putin", None),
    ("VladimirPutin", "Vladimir Putin", None),
    ("VladimirPUTIN", "Vladimir Putin", None),
    ("V.Putin", "V. Putin", None),
    ("Putin", "Putin", None),
    ("Vladimir Putin (answering Alexei Machnev, Speaker of Parliament)", "Vladimir Putin", None),
    ("Emergencies Minister Vladimir Puchkov", "Vladimir Puchkov", "Emergencies Minister"),
    (
        "Rosneft CEO, Chairman of the Management Board Igor Sechin",
        "Igor Sechin",
        "Rosneft CEO, Chairman of the Management Board",
    ),
    ("Patriarch of Moscow and All Russia Kirill", "Kirill", "Patriarch of Moscow and All Russia"),
    ("Patriarch Kirill", "Kirill", "Patriarch"),
    ("King Abdullah II of Jordan", "Abdullah II", "King of Jordan"),
    (
        "President of Turkey Recep Tayyip Erdogan (retranslated)",
        "Recep Tayyip Erdogan",
        "President of Turkey",
    ),
    ("Question (retranslated)", None, "Question"),
    ("President of Egypt Mohammed Morsi (re-translated)", "Mohammed Morsi", "President of Egypt"),
    ("President of Guinea Alpha Conde(retranslated)", "Alpha Conde", "President of Guinea"),
    ("Governor of Vladimir Region Svetlana Orlova", "Svetlana Orlova", "Governor of Vladimir Region"),
    ("President of the Kyrgyz Republic Sadyr Japarov", "Sadyr Japarov", "President of the Kyrgyz Republic"),
    ("Sadyr Japarov", "Sadyr Japarov", None),
    ("Tatyana Remezova, reporter at VGTRK", "Tatyana Remezova", "reporter at VGTRK"),
    (
        "Sports commentator Dmitry Guberniyev, ceremony moderator",
        "Dmitry Guberniyev",
        "Sports commentator, ceremony moderator",
    ),
    ("Alexander Van der Bellen", "Alexander Van der Bellen", None),
    ("President of Syria Bashar al-Assad (retranslated)", "Bashar al-Assad", "President of Syria"),
    (
        "Labour and Social Protection MINISTER MAXIM TOPILIN",
        "Maxim Topilin",
        "Labour and Social Protection Minister",
    ),
    (
        "Mayor of Ljubljana (Republic of Slovenia) Zoran Jankovic (retranslated)",
        "Zoran Jankovic",
        "Mayor of Ljubljana",
    ),
    ("Moderator Fyodor Lukyanov", "Fyodor Lukyanov", "Moderator"),
    ("Alina", "Alina", None),
    ("President of Russia Vladimir Putin:", "Vladimir Putin", "President of Russia"),
    ("President\u00a0of Russia Vladimir\u00a0Putin", "Vladimir Putin", "President of Russia"),
]


@pytest.mark.parametrize(("label", "name", "role"), PERSON_LABELS)
def test_person_labels(label: str, name: str | None, role: str | None) -> None:
    sp = parse_speaker_label(label)
    if name is None:
        assert sp.kind == "anonymous" and sp.name is None
    else:
        assert sp == Speaker("person", name, role)


ANONYMOUS_LABELS = [
    "Question",
    "Question (retranslated)",
    "Remark",
    "Remarks",
    "Reply",
    "Answer",
    "Response",
    "Response from the hall",
    "Voice",
    "Voice from the audience",
    "Comment",
    "Moderator",
    "Journalist",
    "Participant",
    "Audience",
    "Email",
    "Operator",
    "Presenter",
    "Volunteers",
    "Call centre operator",
    "Question from Izhevsk",
    "Question from Perm Territory",
    "Volunteer (Passes a document to the President.)",
    "Executive Chairmanof the World Economic Forum (retranslated)",
    "Winner of the Presidential Prize in Science and Innovation for Young Scientists",
]


@pytest.mark.parametrize("label", ANONYMOUS_LABELS)
def test_anonymous_labels(label: str) -> None:
    sp = parse_speaker_label(label)
    assert sp.kind == "anonymous"
    assert sp.name is None


HEADING_LABELS = [
    "Entry from 10.00 am to 11.00 am",
    "Meeting points",
    "Contact telephone numbers",
    "Statements following the meeting",
    "The document reads, in full",
    "Accreditation badge provides access to the following events",
    "The main activities on the agenda (the start time indicated is approximate and subject to change)",
]


@pytest.mark.parametrize("label", HEADING_LABELS)
def test_heading_labels(label: str) -> None:
    assert parse_speaker_label(label) == Speaker("heading", None, None)


# ----------------------------------------------------------------------------- resolution


def _ids(res: Resolution, doc: str) -> tuple[list[str | None], list[str | None]]:
    return res.tag_ids[doc], res.speaker_ids[doc]


def test_tag_and_labels_in_one_page() -> None:
    doc = DocPeople(
        "d1",
        ("Japarov Sadyr", "Shoigu Sergei"),
        (
            "President of Russia Vladimir Putin",
            "President of the Kyrgyz Republic Sadyr Japarov",
            "Putin",
            "Sadyr Japarov",
            "Question",
            "Japarov",
        ),
    )
    res = resolve_people([doc])
    tags, spk = _ids(res, "d1")
    assert tags == ["sadyr-japarov", "sergei-shoigu"]
    assert spk == [
        "vladimir-putin",
        "sadyr-japarov",
        "vladimir-putin",
        "sadyr-japarov",
        None,
        "sadyr-japarov",
    ]
    assert res.speakers["d1"][4] == Speaker("anonymous", None, "Question")
    rows = {r["person_id"]: r for r in res.persons}
    assert rows["sadyr-japarov"] == {
        "person_id": "sadyr-japarov",
        "name": "Sadyr Japarov",
        "sort_name": "Japarov Sadyr",
        "aliases": sorted(
            ["Japarov Sadyr", "Sadyr Japarov", "President of the Kyrgyz Republic Sadyr Japarov", "Japarov"]
        ),
        "n_documents": 1,
    }
    assert [r["person_id"] for r in res.persons] == sorted(rows)


TRANSLIT_PAIRS = [
    ("Donskoy Sergei", "Minister of Natural Resources and Environment Sergey Donskoy"),
    ("Trutnev Yury", "Yuri Trutnev"),
    ("Kozak Dmitry", "Deputy Prime Minister Dmitriy Kozak"),
    ("Novak Alexander", "Energy Minister Aleksandr Novak"),
    ("Tkachev Alexander", "Agriculture Minister Alexander Tkachyov"),
    ("Zelensky Vladimir", "Vladimir Zelenskiy"),
    ("Vasilyev Vladimir", "Vladimir Vasiliev"),
    ("Niinistö Sauli", "President of Finland Sauli Niinisto (retranslated)"),
    ("Matviyenko Valentina", "Valentina Matvienko"),
    ("Erdogan Recep Tayyip", "Recep Tayyip Erdogan"),
]


@pytest.mark.parametrize(("tag", "label"), TRANSLIT_PAIRS)
def test_transliteration_variants_across_pages(tag: str, label: str) -> None:
    res = resolve_people([DocPeople("a", (tag,), ()), DocPeople("b", (), (label, "Question"))])
    (tag_id,) = res.tag_ids["a"]
    assert tag_id is not None
    assert res.speaker_ids["b"] == [tag_id, None]
    assert len(res.persons) == 1


def test_typo_in_label_joins_the_page_person() -> None:
    res = resolve_people([DocPeople("a", (), ("Vladimir Putin", "Vlaidmir Putin", "Tatayana Golikova"))])
    spk = res.speaker_ids["a"]
    assert spk[0] == spk[1] == "vladimir-putin"
    assert spk[2] is not None


def test_near_words_share_a_near_key() -> None:
    """The page index finds an entity by a word ``_near`` the name's: every near pair of
    words shares one of ``_near_keys`` (one edit of each kind, on random words)."""
    rng = random.Random(3)
    pairs = 0
    for _ in range(50_000):
        a = "".join(rng.choice("abcde") for _ in range(rng.randint(3, 9)))
        b, i = list(a), rng.randrange(len(a))
        edit = rng.randrange(4)
        if edit == 0:
            b[i] = rng.choice("abcde")
        elif edit == 1:
            b.insert(i, rng.choice("abcde"))
        elif edit == 2:
            del b[i]
        elif i + 1 < len(b):
            b[i], b[i + 1] = b[i + 1], b[i]
        if persons._near(a, "".join(b)):
            pairs += 1
            assert persons._near_keys(a) & persons._near_keys("".join(b)), (a, b)
    assert pairs > 20_000


def test_many_speakers_on_one_page_are_compared_with_their_near_entities_only(monkeypatch) -> None:
    """Linking a page compares a name only with the entities that can match it: the
    comparisons grow with the speakers, not with their square (4,000 distinct speakers on
    one page took 50 s), and the typo still joins its person."""
    rng = random.Random(5)

    def word() -> str:
        return "".join(rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") for _ in range(4)).title()

    labels = [f"{word()} {word()}" for _ in range(1500)]
    calls = collections.Counter()
    score = persons._match_score
    monkeypatch.setattr(persons, "_match_score", lambda n, e: calls.update(["pair"]) or score(n, e))
    first, last = labels[0].split()
    res = resolve_people([DocPeople("a", (), (*labels, f"{first} {last[0]}{last[2]}{last[1]}{last[3:]}"))])
    spk = res.speaker_ids["a"]
    assert len(set(spk[:-1])) == len(labels), "distinct names stay distinct persons"
    assert spk[-1] == spk[0], "a swap of two letters is the same person"
    assert calls["pair"] < 5 * len(labels), calls


def test_different_people_are_not_merged() -> None:
    res = resolve_people(
        [
            DocPeople("a", ("Ivanov Sergei", "Ivanov Viktor", "Medvedev Dmitry"), ()),
            DocPeople("b", (), ("Sergei Ivanov", "Viktor Ivanov", "Dmitry", "Dmitry Peskov")),
        ]
    )
    assert res.tag_ids["a"] == ["sergei-ivanov", "viktor-ivanov", "dmitry-medvedev"]
    assert res.speaker_ids["b"][:2] == ["sergei-ivanov", "viktor-ivanov"]
    # a lone given name is nobody's surname: it must not join Medvedev or Peskov
    assert res.speaker_ids["b"][2] not in {"dmitry-medvedev", "dmitry-peskov"}


def test_namesake_pair_on_one_page_gets_two_ids() -> None:
    docs = [
        DocPeople("p1", ("Artemyev Igor", "Morozov Sergei", "Morozov Sergei"), ()),
        DocPeople("p2", ("Morozov Sergei",), ("Sergei Morozov",)),
    ]
    res = resolve_people(docs)
    assert res.tag_ids["p1"] == ["igor-artemyev", "sergei-morozov", "sergei-morozov-2"]
    assert res.tag_ids["p2"][0] in {"sergei-morozov", "sergei-morozov-2"}
    assert res.speaker_ids["p2"] == res.tag_ids["p2"]
    assert sorted(r["person_id"] for r in res.persons) == [
        "igor-artemyev",
        "sergei-morozov",
        "sergei-morozov-2",
    ]


def _known(res: Resolution) -> list[KnownPerson]:
    return [KnownPerson(r["person_id"], r["name"], r["sort_name"], tuple(r["aliases"])) for r in res.persons]


def test_known_person_keeps_id_when_a_namesake_arrives() -> None:
    v1 = resolve_people(
        [DocPeople("d1", ("Morozov Sergei",), ("Governor of Ulyanovsk Region Sergei Morozov",))]
    )
    assert v1.tag_ids["d1"] == ["sergei-morozov"]
    docs2 = [
        DocPeople("d0", ("Morozov Sergei", "Morozov Sergei"), ()),
        DocPeople("d1", ("Morozov Sergei",), ("Governor of Ulyanovsk Region Sergei Morozov",)),
    ]
    v2 = resolve_people(docs2, _known(v1))
    assert sorted(v2.tag_ids["d0"]) == ["sergei-morozov", "sergei-morozov-2"]
    # the role words of the known person pull the old page to the old id
    assert v2.tag_ids["d1"] == ["sergei-morozov"]
    assert v2.speaker_ids["d1"] == ["sergei-morozov"]


def test_known_ids_are_kept_and_never_reused() -> None:
    known = [
        KnownPerson("sergei-shoigu", "Sergei Shoigu", "Shoigu Sergei", ("Shoigu Sergei",)),
        # a person no longer mentioned still holds the id
        KnownPerson("anna-popova", "Anna Popova", "Popova Anna", ("Popova Anna",)),
        # an id that is not the slug of the current name stays the person's id
        KnownPerson("vladimir-putin-1", "Vladimir Putin", "Putin Vladimir", ("Vladimir Putin", "V. Putin")),
    ]
    docs = [
        DocPeople("a", ("Shoygu Sergey",), ("Vladimir Putin", "Defence Minister Sergei Shoigu")),
        DocPeople("b", (), ("Anna Popov", "Yunus Bek Yevkurov")),
    ]
    known.append(KnownPerson("yunus-bek-yevkurov", "Yunus-Bek Yevkurov", "Yevkurov Yunus-Bek", ()))
    res = resolve_people(docs, known)
    assert res.tag_ids["a"] == ["sergei-shoigu"]
    assert res.speaker_ids["a"] == ["vladimir-putin-1", "sergei-shoigu"]
    # Popov is not Popova; a new name whose slug is a known id takes the next free suffix
    assert res.speaker_ids["b"] == ["anna-popov", "yunus-bek-yevkurov-2"]
    ids = {r["person_id"] for r in res.persons}
    assert "anna-popova" not in ids and "yunus-bek-yevkurov" not in ids
    rows = {r["person_id"]: r for r in res.persons}
    assert "Shoigu Sergei" in rows["sergei-shoigu"]["aliases"]  # known aliases carried over


def test_order_independence() -> None:
    docs = [
        DocPeople("a", ("Morozov Sergei", "Morozov Sergei"), ("Sergei Morozov",)),
        DocPeople("b", ("Putin Vladimir", "Donskoy Sergei"), ("Vladimir Putin", "Sergey Donskoy", "Remark")),
        DocPeople("c", (), ("Putin", "V. Putin", "Kirill Kleymenov", "Question")),
        DocPeople("d", ("Morozov Sergei", "Babushkin Igor"), ()),
        DocPeople("e", ("Kirill Patriarch of Moscow and All Russia",), ("Patriarch Kirill",)),
    ]
    base = resolve_people(docs)
    rng = random.Random(7)
    for _ in range(5):
        shuffled = docs[:]
        rng.shuffle(shuffled)
        again = resolve_people(shuffled)
        assert again == base
    assert base.speaker_ids["e"] == base.tag_ids["e"] == ["kirill"]
    assert base.speaker_ids["c"][:2] == ["vladimir-putin", "vladimir-putin"]


def test_duplicate_doc_ids_must_agree() -> None:
    d = DocPeople("a", ("Putin Vladimir",), ())
    assert resolve_people([d, d]).tag_ids == {"a": ["vladimir-putin"]}
    with pytest.raises(ValueError):
        resolve_people([d, replace(d, tags=("Shoigu Sergei",))])


# ----------------------------------------------------------------------------- corpus acceptance


def _visible(lab: dict) -> list[tuple[str, int | None]]:
    pairs = list(zip(lab["persons"], lab["person_ids"], strict=True))
    if lab.get("hidden_tags") and len(pairs) > FOLD_VISIBLE:
        pairs = pairs[:FOLD_VISIBLE]
    return pairs


def bcubed(mentions: list[tuple[object, str | None]]) -> tuple[float, float, float]:
    """B-cubed P/R/F1 as in shared/tools/score.py; a None prediction is a singleton."""
    pkey = [("p", p) if p is not None else ("single", k) for k, (_, p) in enumerate(mentions)]
    gold: dict[object, set[int]] = collections.defaultdict(set)
    pred: dict[object, set[int]] = collections.defaultdict(set)
    for k, (g, _) in enumerate(mentions):
        gold[g].add(k)
        pred[pkey[k]].add(k)
    p = r = 0.0
    for k, (g, _) in enumerate(mentions):
        inter = len(gold[g] & pred[pkey[k]])
        p += inter / len(pred[pkey[k]])
        r += inter / len(gold[g])
    p, r = p / len(mentions), r / len(mentions)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


@pytest.fixture(scope="module")
def corpus() -> tuple[list[dict], Resolution, float]:
    path = CORPUS / "labels.jsonl"
    if not path.is_file():
        pytest.skip(f"corpus labels not found at {path} (needs ../shared/corpus beside the repo)")
    with path.open(encoding="utf-8") as fh:
        labels = [json.loads(line) for line in fh if line.strip()]
    docs = [
        DocPeople(lab["file"], tuple(t for t, _ in _visible(lab)), tuple(t["label"] for t in lab["turns"]))
        for lab in labels
    ]
    t0 = time.perf_counter()
    res = resolve_people(docs)
    return labels, res, time.perf_counter() - t0


@pytest.mark.corpus
def test_corpus_bcubed(corpus: tuple[list[dict], Resolution, float]) -> None:
    labels, res, seconds = corpus
    tags: list[tuple[object, str | None]] = []
    turns: list[tuple[object, str | None]] = []
    for lab in labels:
        for (_, gid), pid in zip(_visible(lab), res.tag_ids[lab["file"]], strict=True):
            if gid is not None:
                tags.append((gid, pid))
        for turn, pid in zip(lab["turns"], res.speaker_ids[lab["file"]], strict=True):
            if turn["person_id"] is not None:
                turns.append((turn["person_id"], pid))
    p, r, f1 = bcubed(tags + turns)
    _, _, turns_f1 = bcubed(turns)
    print(
        f"\npersons_bcubed P {p:.4f} R {r:.4f} F1 {f1:.4f} ({len(tags) + len(turns)} mentions); "
        f"persons_turns_bcubed_f1 {turns_f1:.4f} ({len(turns)}); {seconds:.2f}s, {len(res.persons)} persons"
    )
    assert f1 >= 0.995
    assert turns_f1 >= 0.995


@pytest.mark.corpus
def test_corpus_named_turns_have_ids(corpus: tuple[list[dict], Resolution, float]) -> None:
    labels, res, _ = corpus
    for lab in labels:
        for turn, sp, pid in zip(
            lab["turns"], res.speakers[lab["file"]], res.speaker_ids[lab["file"]], strict=True
        ):
            assert (sp.kind == "person") == (pid is not None), (lab["file"], turn["label"])
            if turn["person_id"] is not None:
                assert sp.kind == "person", turn["label"]


@pytest.mark.corpus
def test_corpus_putin_is_one_person(corpus: tuple[list[dict], Resolution, float]) -> None:
    labels, res, _ = corpus
    ids: collections.Counter[str | None] = collections.Counter()
    for lab in labels:
        for sp, pid in zip(res.speakers[lab["file"]], res.speaker_ids[lab["file"]], strict=True):
            if sp.name and "putin" in sp.name.lower():
                ids[pid] += 1
        for (tag, _), pid in zip(_visible(lab), res.tag_ids[lab["file"]], strict=True):
            if tag.startswith("Putin "):
                ids[pid] += 1
    assert list(ids) == ["vladimir-putin"], ids
    assert ids["vladimir-putin"] > 5000


@pytest.mark.corpus
def test_corpus_ids_are_known_and_stable(corpus: tuple[list[dict], Resolution, float]) -> None:
    labels, res, _ = corpus
    rows = {r["person_id"]: r for r in res.persons}
    assert len(rows) == len(res.persons)
    used = {p for d in (res.tag_ids, res.speaker_ids) for ids in d.values() for p in ids if p is not None}
    assert used == set(rows)
    # a second run that knows the first run's persons keeps every id
    docs = [
        DocPeople(lab["file"], tuple(t for t, _ in _visible(lab)), tuple(t["label"] for t in lab["turns"]))
        for lab in labels
    ]
    known = [KnownPerson(r["person_id"], r["name"], r["sort_name"], tuple(r["aliases"])) for r in res.persons]
    again = resolve_people(docs, known)
    assert again.tag_ids == res.tag_ids
    assert again.speaker_ids == res.speaker_ids
