"""Place lines → venue, locality, region, country.

The place line is free text (`The Kremlin, Moscow`, `Novo-Ogaryovo, Moscow Region`,
`Kuala Lumpur, Malaysia`, `Bangkok.`). It is kept as printed in ``documents.place``;
these columns are a best-effort split for grouping, filled only where the text or a
small built-in gazetteer makes them certain, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kremlin.textnorm import collapse, strip_invisible

_RUSSIAN_REGION = re.compile(
    r"\b(?:Region|Territory|Krai|Oblast|Autonomous Area|Autonomous District|Republic of [A-Z]\w+)$"
)
_VENUE_WORDS = re.compile(
    r"\b(?:Kremlin|House|Palace|Hall|Hotel|Square|Centre|Center|Residence|University|Theatre|Theater|"
    r"Museum|Cathedral|Monastery|Base|Airport|Station|Plant|Range|Institute|Academy|Stadium|Park|Club|"
    r"Office|Building|Complex|Garden|Cemetery|Port|Shipyard|Cosmodrome|Arena)\b"
)
COUNTRIES = frozenset(
    [
        "Abkhazia",
        "Afghanistan",
        "Albania",
        "Algeria",
        "Angola",
        "Argentina",
        "Armenia",
        "Australia",
        "Austria",
        "Azerbaijan",
        "Bahrain",
        "Bangladesh",
        "Belarus",
        "Belgium",
        "Bolivia",
        "Brazil",
        "Brunei",
        "Bulgaria",
        "Cambodia",
        "Canada",
        "Chile",
        "China",
        "Colombia",
        "Croatia",
        "Cuba",
        "Cyprus",
        "Denmark",
        "Egypt",
        "Estonia",
        "Ethiopia",
        "Finland",
        "France",
        "Georgia",
        "Germany",
        "Greece",
        "Hungary",
        "Iceland",
        "India",
        "Indonesia",
        "Iran",
        "Iraq",
        "Ireland",
        "Israel",
        "Italy",
        "Japan",
        "Jordan",
        "Kazakhstan",
        "Kenya",
        "Kuwait",
        "Kyrgyzstan",
        "Laos",
        "Latvia",
        "Lebanon",
        "Libya",
        "Lithuania",
        "Luxembourg",
        "Malaysia",
        "Malta",
        "Mexico",
        "Moldova",
        "Mongolia",
        "Montenegro",
        "Morocco",
        "Mozambique",
        "Myanmar",
        "Nepal",
        "Netherlands",
        "Nicaragua",
        "Nigeria",
        "Norway",
        "Oman",
        "Pakistan",
        "Palestine",
        "Peru",
        "Philippines",
        "Poland",
        "Portugal",
        "Qatar",
        "Romania",
        "Russia",
        "Rwanda",
        "Serbia",
        "Singapore",
        "Slovakia",
        "Slovenia",
        "Spain",
        "Sweden",
        "Switzerland",
        "Syria",
        "Tajikistan",
        "Tanzania",
        "Thailand",
        "Tunisia",
        "Turkey",
        "Turkmenistan",
        "Uganda",
        "Ukraine",
        "Uruguay",
        "Uzbekistan",
        "Venezuela",
        "Vietnam",
        "Yemen",
        "Yugoslavia",
        "Zimbabwe",
    ]
) | {
    "South Africa",
    "South Korea",
    "Republic of Korea",
    "North Korea",
    "Saudi Arabia",
    "South Ossetia",
    "United Arab Emirates",
    "United Kingdom",
    "Great Britain",
    "United States",
    "USA",
    "Czech Republic",
    "New Zealand",
    "Sri Lanka",
    "Costa Rica",
    "Bosnia and Herzegovina",
    "North Macedonia",
    "Macedonia",
}
# Localities named without a country on the site, by the country they are in.
_CITY_COUNTRY = {
    "Russia": """Moscow|St Petersburg|Sochi|Novo-Ogaryovo|Kazan|Vladivostok|Yekaterinburg|Novosibirsk|Krasnodar|
        Nizhny Novgorod|Sevastopol|Kaliningrad|Krasnoyarsk|Volgograd|Chelyabinsk|Yaroslavl|Ufa|Kemerovo|Rostov-on-Don|
        Samara|Perm|Omsk|Tula|Tver|Irkutsk|Grozny|Makhachkala|Nalchik|Penza|Ryazan|Kursk|Voronezh|Saratov|Tyumen|
        Khabarovsk|Murmansk|Arkhangelsk|Petrozavodsk|Pskov|Veliky Novgorod|Smolensk|Bryansk|Orenburg|Izhevsk|Kirov|
        Vologda|Ulan-Ude|Chita|Yakutsk|Magadan|Yuzhno-Sakhalinsk|Petropavlovsk-Kamchatsky|Tomsk|Barnaul|Kostroma|
        Ivanovo|Vladimir|Kaluga|Lipetsk|Tambov|Belgorod|Oryol|Astrakhan|Stavropol|Pyatigorsk|Vladikavkaz|Cherkessk|
        Maikop|Elista|Cheboksary|Yoshkar-Ola|Saransk|Syktyvkar|Naberezhnye Chelny|Togliatti|Magnitogorsk|Novorossiysk|
        Simferopol|Kerch|Yalta|Gorki|Bocharov Ruchei|Zavidovo|Valdai|Sarov|Tobolsk|Surgut|Salekhard|Norilsk""",
    "Kazakhstan": "Astana|Almaty|Nur-Sultan|Baikonur",
    "Belarus": "Minsk|Brest|Vitebsk|Gomel",
    "Kyrgyzstan": "Bishkek|Cholpon-Ata|Osh",
    "Uzbekistan": "Tashkent|Samarkand",
    "Tajikistan": "Dushanbe",
    "Turkmenistan": "Ashgabat|Avaza",
    "Armenia": "Yerevan",
    "Azerbaijan": "Baku",
    "Moldova": "Chisinau",
    "Ukraine": "Kiev|Kyiv",
    "Georgia": "Tbilisi",
    "China": "Beijing|Shanghai|Hangzhou|Qingdao|Xiamen|Sanya|Harbin",
    "Japan": "Tokyo|Osaka|Nagasaki|Kyoto",
    "India": "New Delhi|Goa|Mumbai|Bangalore",
    "Thailand": "Bangkok",
    "Turkey": "Ankara|Istanbul|Antalya",
    "France": "Paris|Bordeaux|Versailles|Evian",
    "Germany": "Berlin|Hamburg|Dresden|Munich|Hannover|Weimar",
    "United Kingdom": "London|Gleneagles",
    "United States": "New York|New York City|Washington|Washington, D.C|Camp David",
    "Italy": "Rome|Genoa|Milan",
    "Greece": "Athens",
    "Belgium": "Brussels",
    "Israel": "Jerusalem",
    "Finland": "Helsinki|Turku",
    "Austria": "Vienna",
    "Serbia": "Belgrade",
    "Slovenia": "Ljubljana",
    "Norway": "Oslo",
    "Netherlands": "The Hague|Amsterdam",
    "Republic of Korea": "Busan|Seoul",
    "Brazil": "Brasilia",
    "Cuba": "Havana",
    "Canada": "Ottawa",
    "Brunei": "Bandar Seri Begawan",
    "Malaysia": "Kuala Lumpur|Putrajaya",
    "South Africa": "Durban|Johannesburg",
}
CITY_COUNTRY = {
    city.strip(): country
    for country, cities in _CITY_COUNTRY.items()
    for city in cities.split("|")
    if city.strip()
}
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
