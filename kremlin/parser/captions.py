"""Single-photo captions and video descriptions: body lines that are not paragraphs.

Plain text loses the markup that sets a caption apart, so a line is judged by its
grammar: captions are noun phrases (`With Defence Minister Sergei Shoigu.`, `At a
meeting of the Security Council.`, `President Putin addressing the forum.`) while
paragraphs are sentences with a finite verb. The first body line of older pages is
very often the lead photo's caption, so it is judged more leniently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kremlin.parser.turns import _ANON_FROM, ANONYMOUS, is_speaker_label, split_label

_MAX_LEN = 300
_MAX_FIRST_HEADING = 120
_MAX_FIRST_BARE = 200  # a verb-less first line up to this length is the lead photo caption
_CLAUSE_WORDS = 6
_VERB_FORM = re.compile(r"\b[a-z]{3,}ed\b|\b(?:underwent|read|plan|plans|sets|shows)\b")
_VERB_OBJECT = re.compile(
    r"\b[a-z]{3,}(?:ed|(?<!ss)s) (?:the|a|an|his|her|their|its|this|these|him|them|Mr)\b"
)
_INTRODUCES_PERSON = re.compile(r"^(?:With|Meeting with|A meeting with)\b")
_MANY = 3  # a sentence printed this many times is a caption whatever its grammar
_TITLE_SHARE = 0.6  # a caption naming the event repeats most of the title's words
_PORTRAIT_WORDS = 30  # `Role … Name and Role … Name`: longer verb-less lines are list entries
_SPEAKER = re.compile(r"^[A-Z][^:]{0,60}: ")
_STRONG = re.compile(
    r"\b(?:is|are|was|were|has|have|had|will|would|can|could|should|must|did|does|do|said|says|noted|"
    r"stressed|I|we|We|our|us|you|You|my|it’s|that’s|he|He|she|They|they|also|please|Please|Let|let)\b"
)
# Present-tense verbs of decree and news prose ("The Executive Order appoints …").
_PRESENT = re.compile(
    r"\b(?:envisages|comes|come|releases|concerns|appoints|relieves|consists|takes|take|sets|set|sat|"
    r"left|fought|died|shot|dealt|spent|lists|aims|includes|provides|makes|gives|notes|reads|contains|"
    r"amends|establishes|approves|enters|stipulates|regulates|defines|allows|introduces|specifies|"
    r"remains|becomes|goes|seeks|wants|needs|plans|expects|hopes|believes|thinks|knows|shows|begins)\b"
)
# Past-tense verbs, minus -ed words that are usually adjectives or nouns in captions.
_PAST = re.compile(
    r"\b(?:spoke|took|gave|met|held|made|became|began|sent|told|came|went|saw|laid|paid|won|wrote|got|"
    r"brought|kept|found|heard|chose|drew|flew|rose|sought|stood|taught|understood|led|shared|toured|"
    r"(?!(?:devot|dedicat|unit|relat|entitl|involv|bas|call|nam|detail|limit|advanc|skill|"
    r"expand|enlarg|extend|arm|retir|award|r|ne|spe|fe|se|b|w|hundr|d|us|join|accredit|schedul|plann|"
    r"invit|design)ed\b)[a-z]{3,}ed)\b"
)
_WEAK = re.compile(
    r"\b(?:[a-z]{3,}ed (?:the|a|an|that|to|with|on|in|by|for|his|her|their|its|this|these|at|Mr|him|them|"
    r"over|about|as|and)|[a-z]{3,}(?<!ss)s (?:the|a|an|that|to|on|in|his|their|its|at|with|for|him|them|up))\b"
)
_NOUN_START = re.compile(
    r"^(?:With|At|During|Before|After|Meeting|Working meeting|Work meeting|Talking|Presenting|Visiting|"
    r"Visit|Arrival|Official|Participants|Press|Video|Joint|Talks|Telephone|"
    r"Discussion|Interview|A meeting|The meeting|Speaking|"
    r"(?:President |Acting President )?(?:Vladimir )?Putin (?:with|and|at|during|before|after|addressing|"
    r"meeting|talking|visiting|laying|presenting|speaking|chairing|giving|in|on))\b"
)
_PHOTO_POSITION = re.compile(
    r"\((?:left|right|centre|center|second (?:left|right)[^)]*)\)|\b[Ff]rom left\b|\bleft to right\b"
    r"|(?:^|\. )(?:Left|Right|On the (?:left|right)): |(?:^|\. )On the (?:left|right), |, (?:left|right), "
)
_NOT_PORTRAIT = frozenset(
    [
        "Happy",
        "The",
        "A",
        "An",
        "Thank",
        "Thanks",
        "Please",
        "Dear",
        "Long",
        "Glory",
        "Good",
        "Welcome",
        "Congratulations",
    ]
)
_PHOTO_CREDIT = re.compile(r"(?:^|\. )Photo(?::| by) ")
_SCENE = re.compile(r",? (?:at|before|during|after|on|in|with|prior to) (?:the|a|an)\b")
_WITH_PORTRAIT = re.compile(r"^[A-Z][^.]{5,150}\. (?:With [A-Z]|[A-Z][\w-]+ [A-Z][\w-]+ [A-Z])")
_WORD = re.compile(r"[A-Za-z][\w’'-]*")
_FUNCTION_WORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "of",
        "and",
        "in",
        "on",
        "at",
        "to",
        "for",
        "with",
        "by",
        "from",
        "as",
        "its",
        "his",
        "her",
        "their",
    ]
)
_SENTENCE_END = re.compile(r"[.!?…](?:\s|$)")
# The end of a sentence, not of an initial (`George W. Bush`).
_FIRST_SENTENCE = re.compile(r"(?<!\b[A-Z])[.!?…](?:\s|$)")
_ED_NAME = re.compile(r"\b[a-z]{3,}ed [A-Z]")  # `… invited Vladimir Putin`: a verb before a name
# The photo database of old pages escaped apostrophes (`Putin\\'s`) and prefixed the
# place in capitals (`TUAPSE. President Putin …`); page prose has neither.
_PLACE_PREFIX = re.compile(r"^[A-Z][A-Z-]{3,}\. [A-Z]")
# `Ivan Petrov – Deputy Prime Minister.`: an entry of a list of appointments.
_PUTIN_SCENE = re.compile(
    r"^(?:President |Acting President )?(?:Vladimir )?Putin (?:with|at|during|in|meeting|giving|attending|visiting)\b"
)
# Headings that introduce the transcript below are paragraphs of the page.
_TRANSCRIPT_HEADING = re.compile(r"^(?:Excerpts|Transcript|Beginning|Speech|Opening remarks|Statement)\b")
_NAME_DASH_ITEM = re.compile(r"^[A-Z][\w’'-]+(?: [A-Z][\w’'-]+){1,2} – ")
_TERMINAL = tuple('.!?:;,…"”“»)')
# Words of speech to the audience (`Mr Sorokin, go ahead please.`), never of a caption.
_SPEECH = re.compile(
    r"\b(?:I|we|We|you|You|our|Our|your|Your|my|My|us|please|Please|Mr|Ms|Mrs|let|Let|Thank)\b|[?!]"
)
_PAREN_TAIL = re.compile(r"\s*\([^()]*\)$")
_SPEAKER_ANY = re.compile(r"^[A-Z][^:]{0,80}:")
_PERSONAL = re.compile(r"\b(?:I|we|We|you|You|our|Our|your|Your|my|My|us)\b")
ATTACHMENT = re.compile(
    r"^(?:doc|docx|pdf|rtf|xls|xlsx|zip|ppt|pptx|jpg|mp3|mp4), [\d.,]+\s*(?:B|kB|KB|MB|GB)$"
)


@dataclass(frozen=True)
class CaptionContext:
    title: str


def _is_portrait(text: str) -> bool:
    """`Role Name.` (optionally `… at the meeting …`): a caption under a person's photo.

    Greetings (`Happy Russia Day.`), calls (`Please, Mr Zyuganov.`) and `Name, outlet.`
    introductions in press conferences have the same shape and are excluded.
    """
    who = _SCENE.split(text.rstrip("."), maxsplit=1)[0]
    words = who.split()
    if (
        not 2 <= len(words) <= _PORTRAIT_WORDS
        or "," in who
        or words[0] in _NOT_PORTRAIT
        or any(w in ("Mr", "Ms", "Mrs") for w in words)
    ):
        return False
    return is_speaker_label(who) and not has_verb(who)


def _long_speaker(text: str) -> bool:
    """`Editor-in-chief of the Komsomolskaya Pravda newspaper Vladimir Sungorkin: Russian
    Press Day.`: a turn whose label (a long title and a name) is too long for `_SPEAKER`."""
    parts = split_label(text)
    return bool(parts) and bool(parts[1]) and len(parts[0].split()) >= 3 and is_speaker_label(parts[0])


def _stage_direction(text: str) -> bool:
    """`Remark from the audience.`, `REPLY (without a microphone).`: who speaks next, written
    as a paragraph of the transcript."""
    core = _PAREN_TAIL.sub("", text.rstrip(".")).strip()
    return core.lower() in ANONYMOUS or bool(_ANON_FROM.match(core.capitalize()))


def _with_portrait(text: str) -> bool:
    """`At the meeting. With Ivan Petrov, Governor.`: a scene, then who is in the photo (no
    verb); `… ports. The Southern Federal District plays a big part …` is prose."""
    m = _WITH_PORTRAIT.search(text)
    return bool(m) and not has_verb(text[m.end() - 1 :])


def _title_overlap(text: str, title: str) -> float:
    """Share of the line's content words that are also words of the page title."""
    words = [w.lower() for w in _WORD.findall(text) if w.lower() not in _FUNCTION_WORDS]
    if len(words) < 3:
        return 0.0
    title_words = {w.lower() for w in _WORD.findall(title)}
    return sum(w in title_words for w in words) / len(words)


def _clause_after_comma(text: str) -> bool:
    """`At the talks, the two sides signed …`: an introductory phrase, then a clause with a
    verb; a caption's comma introduces a name or a role (`With Ivan Petrov, Governor.`)."""
    if ", " not in text or _INTRODUCES_PERSON.match(text):
        return False
    tail = text.split(", ", 1)[1]
    return len(tail.split()) >= _CLAUSE_WORDS and bool(has_verb(tail) or _VERB_FORM.search(tail))


def _finite(text: str) -> bool:
    """A finite verb, leaving out the `-s`/`-ed` + preposition shapes that plural nouns and
    participles share (`athletes to compete`, `talks with`)."""
    return bool(
        _STRONG.search(text)
        or _PAST.search(text)
        or _PRESENT.search(text)
        or _ED_NAME.search(text)
        or _VERB_OBJECT.search(text)
    )


def _names_event(text: str, ctx: CaptionContext) -> bool:
    """The line opens with a verb-less sentence that restates the title (`Supreme Council
    expanded meeting.`, `At the award ceremony. With Ivan Petrov, …`): the caption of a
    photo of the event, maybe followed by who is in it."""
    if not text.endswith(".") or _SPEAKER_ANY.match(text):
        return False
    head = _FIRST_SENTENCE.split(text, maxsplit=1)[0]
    # What follows the head may be a sentence about who is in the photo (`Ivan Petrov was
    # awarded the Order of Friendship.`), but not speech to the audience.
    if len(_SENTENCE_END.findall(text)) > 2 or _STRONG.search(head) or _SPEECH.search(text) or _finite(head):
        return False
    return _title_overlap(head, ctx.title) >= _TITLE_SHARE


def _recurring_caption(text: str, ctx: CaptionContext, in_list: bool, repeats: int) -> bool:
    """A line printed more than once on the page is a caption under several photos of the
    event, when it names the event (no verb, or mostly the title's words). Prose does not
    recur, except set phrases addressed to the audience (`Thank you for your attention.`)."""
    if repeats < 2 or in_list or len(text.split()) < 5 or _SPEAKER_ANY.match(text):
        return False
    if len(_SENTENCE_END.findall(text)) > 2 or text.endswith(("?", "!", ":", ",")) or _PERSONAL.search(text):
        return False
    return repeats >= _MANY or not has_verb(text) or _title_overlap(text, ctx.title) >= 0.5


def is_caption_line(
    text: str, first: bool, ctx: CaptionContext, in_list: bool = False, repeats: int = 1
) -> bool:
    """Whether a stand-alone body line is a photo caption or video description.

    ``in_list``: the neighbouring lines have the same short shape (a list of names or
    items), so a portrait-like line is an item of that list, not a caption. ``repeats``:
    how many times the line occurs in the body.
    """
    if text.rstrip(".") == ctx.title.rstrip("."):
        return True
    # "None" is what the site prints for a video block without a description.
    if ATTACHMENT.match(text) or text == "None":
        return True
    if not text[0].isupper() or _stage_direction(text):
        return False
    # Who is where in a photo: a caption however long its list of people.
    if (_PHOTO_CREDIT.search(text) or _PHOTO_POSITION.search(text)) and not _PERSONAL.search(text):
        return len(text) <= 2 * _MAX_LEN
    if len(text) > _MAX_LEN:
        return False
    if _recurring_caption(text, ctx, in_list, repeats) or "\\'" in text or _PLACE_PREFIX.match(text):
        return True
    if _NAME_DASH_ITEM.match(text):
        return False
    if _names_event(text, ctx) and not in_list:
        return True
    if text.endswith(":") or ":”" in text or _SPEAKER.match(text) or _long_speaker(text):
        return False
    if _STRONG.search(text):
        return False
    # `President Putin at a funeral service for those killed …`: a participle, not a verb.
    if first and _PUTIN_SCENE.match(text):
        return True
    if _PAST.search(text):
        return False
    if _NOUN_START.match(text):
        return (first or text.endswith(".")) and not _clause_after_comma(text)
    if (
        first
        and not text.endswith(_TERMINAL)
        and len(text) < _MAX_FIRST_HEADING
        and not has_verb(text)
        and not _TRANSCRIPT_HEADING.match(text)
        and any(c.islower() for c in text)  # a heading in capitals belongs to a document
    ):
        # A verb-less heading on the first body line names the event of the lead photo.
        return True
    # A portrait: `Finance Minister Anton Siluanov.`, maybe with where it was taken
    # (`… Valery Gerasimov before the meeting with …`), or a scene then a portrait.
    if text.endswith(".") and not in_list and (_is_portrait(text) or _with_portrait(text)):
        return True
    if _WEAK.search(text):
        return False
    return first and len(text) < _MAX_FIRST_BARE and text.endswith(".") and not _PRESENT.search(text)


def has_verb(text: str) -> bool:
    """Rough test for a finite verb: tells a sentence from a noun phrase."""
    return bool(_STRONG.search(text) or _PAST.search(text) or _WEAK.search(text) or _PRESENT.search(text))


def looks_like_list_item(text: str) -> bool:
    """A short line without a verb: an entry of a list (names, roles, schedule items)."""
    return len(text) < 150 and not has_verb(text)
