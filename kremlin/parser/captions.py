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

from kremlin.parser.turns import is_speaker_label

_MAX_LEN = 300
_MAX_FIRST_BARE = 200  # a verb-less first line up to this length is the lead photo caption
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
_PHOTO_POSITION = re.compile(r"\((?:left|right|centre|center|second (?:left|right)[^)]*)\)|\b[Ff]rom left\b|\bleft to right\b|^(?:Left|Right): ")
_NOT_PORTRAIT = frozenset("Happy The A An Thank Thanks Please Dear Long Glory Good Welcome Congratulations".split())
_PHOTO_CREDIT = re.compile(r"(?:^|\. )Photo(?::| by) ")
_SCENE = re.compile(r" (?:at|before|during|after|on|in|with) (?:the|a|an)\b")
_WITH_PORTRAIT = re.compile(r"^[A-Z][^.]{5,150}\. (?:With [A-Z]|[A-Z][\w-]+ [A-Z][\w-]+ [A-Z])")
ATTACHMENT = re.compile(r"^(?:doc|docx|pdf|rtf|xls|xlsx|zip|ppt|pptx|jpg|mp3|mp4), [\d.,]+\s*(?:B|kB|KB|MB|GB)$")


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
    if len(words) < 2 or "," in who or words[0] in _NOT_PORTRAIT or any(w in ("Mr", "Ms", "Mrs") for w in words):
        return False
    return is_speaker_label(who)


def is_caption_line(text: str, first: bool, ctx: CaptionContext, in_list: bool = False) -> bool:
    """Whether a stand-alone body line is a photo caption or video description.

    ``in_list``: the neighbouring lines have the same short shape (a list of names or
    items), so a portrait-like line is an item of that list, not a caption.
    """
    if text.rstrip(".") == ctx.title.rstrip("."):
        return True
    # "None" is what the site prints for a video block without a description.
    if ATTACHMENT.match(text) or text == "None":
        return True
    if len(text) > _MAX_LEN or not text[0].isupper():
        return False
    if text.endswith(":") or ":”" in text or _SPEAKER.match(text):
        return False
    if _STRONG.search(text) or _PAST.search(text):
        return False
    if _PHOTO_POSITION.search(text) or _PHOTO_CREDIT.search(text):
        return True
    if _NOUN_START.match(text):
        return first or text.endswith(".")
    if text.endswith(".") and not in_list:
        # A portrait: `Finance Minister Anton Siluanov.`, maybe with where it was taken
        # (`… Valery Gerasimov before the meeting with …`), or a scene then a portrait.
        if _is_portrait(text) or _WITH_PORTRAIT.search(text):
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
