"""Place lines → venue, locality, region, country.

The place line is free text (`The Kremlin, Moscow`, `Novo-Ogaryovo, Moscow Region`,
`Kuala Lumpur, Malaysia`, `Bangkok.`). It is kept as printed in ``documents.place``;
these columns are a best-effort split for grouping, filled only where the text or a
small built-in gazetteer makes them certain, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kremlin import lexicon
from kremlin.textnorm import collapse, strip_invisible

_RUSSIAN_REGION = re.compile(
    r"\b(?:Region|Territory|Krai|Oblast|Autonomous Area|Autonomous District|Republic of [A-Z]\w+)$"
)
_VENUE_WORDS = re.compile(
    r"\b(?:Kremlin|House|Palace|Hall|Hotel|Square|Centre|Center|Residence|University|Theatre|Theater|"
    r"Museum|Cathedral|Monastery|Base|Airport|Station|Plant|Range|Institute|Academy|Stadium|Park|Club|"
    r"Office|Building|Complex|Garden|Cemetery|Port|Shipyard|Cosmodrome|Arena)\b"
)
COUNTRIES = lexicon.COUNTRIES
# Localities named without a country on the site, by the country they are in.
CITY_COUNTRY = lexicon.LOCALITY_COUNTRY
_LOCALITY_ALIASES = {"Saint Petersburg": "St Petersburg", "St. Petersburg": "St Petersburg", "Kyiv": "Kiev"}


@dataclass(frozen=True)
class PlaceParts:
    venue: str | None = None
    locality: str | None = None
    region: str | None = None
    country: str | None = None


def normalise_place(place: str | None) -> PlaceParts:
    if not place:
        return PlaceParts()
    text = collapse(strip_invisible(place)).rstrip(".").strip()
    if text in CITY_COUNTRY or _LOCALITY_ALIASES.get(text) in CITY_COUNTRY:
        locality = _LOCALITY_ALIASES.get(text, text)
        return PlaceParts(locality=locality, country=CITY_COUNTRY[locality])
    parts = [p.strip() for p in text.split(",") if p.strip()]
    country = region = None
    if parts and parts[-1] in COUNTRIES:
        country = parts.pop()
    if parts and _RUSSIAN_REGION.search(parts[-1]):
        region = re.sub(r"^The ", "", parts.pop())
        country = country or "Russia"
    venue = locality = None
    if len(parts) >= 2:
        venue, locality = ", ".join(parts[:-1]), parts[-1]
    elif parts:
        only = parts[0]
        if _VENUE_WORDS.search(only) and only not in CITY_COUNTRY:
            venue = only
        else:
            locality = only
    if locality:
        locality = _LOCALITY_ALIASES.get(locality, locality)
        if locality in COUNTRIES:
            country, locality = country or locality, None
        else:
            country = country or CITY_COUNTRY.get(locality)
    return PlaceParts(venue=venue, locality=locality, region=region, country=country)
