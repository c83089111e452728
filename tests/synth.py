"""Deterministic synthetic news articles, for test sites and benchmarks of any size.

Each article is assembled from sentence templates filled with seeded names, places
and figures, so every article has distinct text (distinct content hashes, distant
SimHashes) while reading like news, and the same seed always gives the same site.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from pipeline.demo.pages import SiteArticle

_FIRST = [
    "Amara",
    "Bruno",
    "Carys",
    "Dmitri",
    "Elena",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Keira",
    "Luca",
    "Maren",
    "Nikhil",
    "Odile",
    "Pavel",
    "Quinn",
    "Rosa",
    "Sami",
    "Tove",
    "Ugo",
    "Vera",
    "Wanjiru",
    "Xavier",
    "Yara",
    "Zeno",
]
_LAST = [
    "Abbott",
    "Bianchi",
    "Castell",
    "Duarte",
    "Eklund",
    "Fairley",
    "Grau",
    "Halloran",
    "Ibsen",
    "Jarvis",
    "Kowalczyk",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quintero",
    "Rahman",
    "Sorensen",
    "Tremaine",
    "Underwood",
    "Varga",
]
_PLACES = [
    "Port Halloway",
    "Estervik",
    "Drennick",
    "Saltby",
    "Skerran",
    "Gull Point",
    "Trenwith",
    "Mill Street",
    "the harbour district",
    "the old town",
    "Kelder Bay",
    "Marrow Fields",
    "Crane Wharf",
    "the ring road",
    "Lantern Hill",
]
_BODIES = [
    "the town council",
    "the port authority",
    "the regional health board",
    "the transport committee",
    "the fisheries cooperative",
    "the university",
    "the chamber of commerce",
    "the water company",
    "the schools trust",
    "the lifeboat station",
    "the housing association",
    "the energy cooperative",
]
_TOPICS = [
    "flood defences",
    "bus routes",
    "school places",
    "fishing quotas",
    "housing",
    "parking charges",
    "a new ferry",
    "the library",
    "air quality",
    "street lighting",
    "the tidal turbine",
    "waste collection",
    "a cycle lane",
    "the market hall",
    "broadband",
    "the swimming pool",
    "winter shelters",
    "coastal erosion",
]
_SECTIONS = ["city", "business", "science", "sport", "culture", "world"]

_LEDES = [
    "{body} approved {money} for {topic} in {place} on {weekday}, after {count} residents "
    "signed a petition calling for action.",
    "Plans for {topic} in {place} moved a step closer on {weekday} when {body} backed a "
    "{money} scheme by {votes} votes to {votes2}.",
    "{pct} of households in {place} say {topic} has got worse in the past year, according "
    "to a survey of {count} people published by {body} on {weekday}.",
    "A {money} bid to overhaul {topic} across {place} has been rejected by {body}, which "
    "said the costs had risen by {pct} since the spring.",
]
_SENTENCES = [
    '{person}, who chairs {body}, said the decision was "long overdue" and promised work '
    "would begin within {weeks} weeks.",
    "Figures seen by the paper show spending on {topic} fell from {money} to {money2} "
    "between {year} and {year2}.",
    '"We have listened to {count} people at {meetings} public meetings," said {person}. '
    '"The message was clear: {place} cannot wait any longer."',
    "Critics including {person} argued that the {money} budget would cover barely {pct} of "
    "what {topic} in {place} really needs.",
    "The scheme is expected to create {jobs} jobs and to be finished by {month} {year2}, "
    "according to {body}.",
    "Residents of {place} will be able to comment on the plans until {day} {month}, and a "
    "final vote is due at the meeting on {day2} {month2}.",
    "{person} pointed out that {pct} of the {count} responses to last year's consultation "
    "had asked for changes to {topic}.",
    "Traffic counts recorded {count} vehicles a day on the busiest stretch in {place}, up "
    "{pct} on {year}, the report said.",
    "An independent review commissioned by {body} put the long-term cost at {money}, "
    "roughly {ratio} times the first estimate.",
    "Opposition members led by {person} called for a pause of {weeks} weeks while the "
    "figures for {topic} are checked again.",
    "In {place}, where {pct} of homes are more than {km} km from the nearest stop, the "
    "changes were welcomed by {person}.",
    "The last comparable project, in {place2}, ran {weeks} weeks late and {pct2} over "
    "budget, {person} noted.",
    "Temperatures of {temp}C and winds of {wind} mph delayed the first phase by {days} days, "
    "{body} confirmed on {weekday}.",
    "A spokesperson for {body} said {count} applications had been received and that {jobs} "
    "would be shortlisted by {day} {month}.",
]
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _fill(template: str, rng: random.Random) -> str:
    person = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    values = {
        "person": person,
        "place": rng.choice(_PLACES),
        "place2": rng.choice(_PLACES),
        "body": rng.choice(_BODIES),
        "topic": rng.choice(_TOPICS),
        "weekday": rng.choice(_WEEKDAYS),
        "month": rng.choice(_MONTHS),
        "month2": rng.choice(_MONTHS),
        "day": rng.randint(1, 28),
        "day2": rng.randint(1, 28),
        "money": f"£{rng.randint(2, 950) / 10:.1f}m",
        "money2": f"£{rng.randint(2, 950) / 10:.1f}m",
        "count": f"{rng.randint(120, 48000):,}",
        "pct": f"{rng.randint(3, 97)}%",
        "pct2": f"{rng.randint(3, 60)}%",
        "votes": rng.randint(20, 40),
        "votes2": rng.randint(2, 19),
        "weeks": rng.randint(2, 30),
        "meetings": rng.randint(3, 25),
        "jobs": rng.randint(12, 900),
        "year": rng.randint(2015, 2022),
        "year2": rng.randint(2023, 2029),
        "ratio": rng.randint(2, 6),
        "km": rng.randint(1, 9),
        "temp": rng.randint(-4, 31),
        "wind": rng.randint(10, 70),
        "days": rng.randint(2, 40),
    }
    sentence = template.format(**values)
    return sentence[0].upper() + sentence[1:]


def _slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def synthetic_articles(
    count: int, seed: int = 7, start: datetime | None = None, paragraphs: tuple[int, int] = (5, 8)
) -> list[SiteArticle]:
    """`count` distinct articles, newest first, one every 37 minutes back from `start`."""
    rng = random.Random(seed)
    start = start or datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    out = []
    for i in range(count):
        topic = rng.choice(_TOPICS)
        place = rng.choice(_PLACES)
        title = (
            f"{place}: {rng.choice(['Vote', 'Row', 'Plan', 'Survey', 'Review'])} on "
            f"{topic} ({i + 1})"
        )
        paras = [_fill(rng.choice(_LEDES), rng)]
        for _ in range(rng.randint(*paragraphs) - 1):
            paras.append(
                " ".join(_fill(rng.choice(_SENTENCES), rng) for _ in range(rng.randint(2, 3)))
            )
        published = start - timedelta(minutes=37 * i)
        authors = tuple(
            f"{rng.choice(_FIRST)} {rng.choice(_LAST)}" for _ in range(rng.choice([1, 1, 1, 2]))
        )
        out.append(
            SiteArticle(
                slug=_slug(f"{topic} {place} {i + 1}"),
                section=rng.choice(_SECTIONS),
                title=title,
                paragraphs=tuple(paras),
                published=published.strftime("%Y-%m-%dT%H:%M:%SZ"),
                authors=authors,
                summary=f"What {place} decided about {topic}.",
                tags=(topic, place),
            )
        )
    return out
