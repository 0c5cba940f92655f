"""Hand-written page texts in the corpus layout, for tests."""

from __future__ import annotations

NBSP = "\u00a0"
TITLE = "Meeting with Governor of Tver Region Ivan Petrov"
INTRO = "The Governor reported on the regional economy and on the preparations for winter."


def make_page(
    *,
    body: list[str] | tuple[str, ...] = (INTRO,),
    title: str = TITLE,
    summary: tuple[str, ...] = (),
    date: str = "March 3, 2015",
    time: str | None = "15:40",
    place: str | None = "The Kremlin, Moscow",
    tags: tuple[tuple[str, tuple[str, ...]], ...] = (),
    sections: str = "Published in section: News",
    publication: str = "March 3, 2015, 15:40",
    style: str = "screen",
    kremlin_id: int = 4711,
) -> str:
    """A page text; ``style="page"`` gives the print-style variant of the same page
    (no-break spaces, the `Direct link:` line)."""
    lines = ["Events", title, *summary, date]
    if time is not None:
        lines.append(time)
    if place is not None:
        lines.append(place)
    lines += body
    for heading, items in tags:
        lines += [heading, *items]
    lines += ["Publication status", sections, f"Publication date: {publication}"]
    if style == "page":
        lines = [ln.replace(" of ", f" of{NBSP}").replace("in section", f"in{NBSP}section") for ln in lines]
        lines.append(f"Direct link: en.kremlin.ru/d/{kremlin_id}")
    lines.append("Text version")
    return "\n".join(lines)


def dialogue_page(title: str, date: str, time: str, publication: str, **kw) -> str:
    """A short meeting transcript with two speakers and a footer Persons tag."""
    return make_page(
        title=title,
        date=date,
        time=time,
        publication=publication,
        body=[
            "The President met with the Governor to discuss the region's development.",
            "* * *",
            "President of Russia Vladimir Putin: Good afternoon, Mr Petrov. How is the harvest?",
            "Governor of Tver Region Ivan Petrov: Good afternoon, Mr President. The harvest is good.",
            "We have built three new schools this year.",
            "Vladimir Putin: Excellent.",
        ],
        tags=(("Persons", ("Petrov Ivan",)),),
        **kw,
    )


# A short page with no place line and no speech: a telephone conversation summary.
PHONE_CALL_PAGE = make_page(
    title="Telephone conversation with President of Finland",
    date="May 5, 2016",
    time="18:00",
    publication="May 5, 2016, 18:10",
    place=None,
    body=["The two presidents discussed bilateral trade and the situation in the Baltic region."],
)
