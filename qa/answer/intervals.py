"""How long between two events ("How many months passed between Putin's visit to Pyongyang
and the outlook's publication?"): no source states the interval, but the sources date each
event, a passage by a date it writes or a document by its own date, and the reader counts.

The answer cites where each date is written; it has no short span (the count is the reader's,
not a quote's). A question for a rule ("How many days after enactment must the President
report?") is left to the reader's quotes, which state the interval, and so is a pair of
events one sentence dates alike ("180 days after August 2, 2017" dates no second event).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from qa.ingest.months import MONTH_NAMES, MONTH_NUMBERS
from qa.models import Answer, Citation, Passage

# How a question asks for the time between two events: "how many months passed between A and
# B", "how many years separate A and B", "how long after A did B". A closed class of English.
_UNIT = r"(?P<unit>days?|weeks?|months?|years?)"
_HOW = rf"\bhow\s+(?:many\s+{_UNIT}|long|much\s+time)"
_BETWEEN = re.compile(rf"{_HOW}\b.*?\b(?:between|separate[sd]?|separating|apart are)\s+"
                      r"(?P<a>.+?)\s+and\s+(?P<b>.+?)\s*\??$", re.IGNORECASE)
_AFTER = re.compile(rf"{_HOW}\s+(?:after|before|since)\s+(?P<a>.+?)\s+"
                    r"(?:did|does|do|was|were|is|are|had|has|have|would|could)\s+(?P<b>.+?)\s*\??$",
                    re.IGNORECASE)
# A rule of how long something may take ("must", "have to", "is required to"): the sources
# state that interval themselves.
_RULE = re.compile(r"\b(?:must|shall|have to|has to|had to|required|allowed|permitted|"
                   r"deadline|due)\b|(?-i:\bmay\b)", re.IGNORECASE)  # "may", not "May 2025"
_MONTH = rf"(?P<month>{MONTH_NAMES})\.?"
_DAY_FIRST = re.compile(rf"\b(?P<day>\d{{1,2}})\s+{_MONTH}\s+(?P<year>\d{{4}})\b", re.IGNORECASE)
_MONTH_FIRST = re.compile(rf"\b{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?"
                          r"(?:\s*[-–]\s*\d{1,2})?(?:,?\s+(?P<year>\d{4}))?\b", re.IGNORECASE)
_MONTH_YEAR = re.compile(rf"\b{_MONTH}\s+(?:of\s+)?(?P<year>\d{{4}})\b", re.IGNORECASE)
_ISO = re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})\b")
_YEAR = re.compile(r"\b(?P<year>(?:1[89]|20)\d\d)\b(?!\s*[-–]\s*\d)")
_NUMBER_WORDS = "one two three four five six seven eight nine ten".split()


@dataclass(frozen=True)
class Dated:
    """An event's date as a source writes it, and where."""

    when: date  # the middle of the month or year when only that is known
    precision: str  # "day", "month" or "year"
    text: str
    citation: Citation


@dataclass(frozen=True)
class Interval:
    """The two events a question asks the time between, and the unit it asks in."""

    first: str
    second: str
    unit: str | None  # "day", "week", "month", "year"; None for "how long"


def asked_interval(question: str) -> Interval | None:
    """The two events and the unit of a question for the time between them, else None."""
    if _RULE.search(question):
        return None
    m = _BETWEEN.search(question) or _AFTER.search(question)
    if m is None:
        return None
    unit = m.group("unit")
    return Interval(first=_event(m.group("a")), second=_event(m.group("b")),
                    unit=unit.lower().rstrip("s") if unit else None)


def _event(text: str) -> str:
    return re.sub(r"^(?:the\s+)?(?:time\s+)?(?:of\s+)?", "", text.strip(" ,")).strip()


def parse_date(text: str, year: int | None = None) -> tuple[date, str] | None:
    """A written date ("June 2024", "December 23, 2024", "Aug. 2, 2017", "2017", "March
    23-25" with the year of the document that writes it) as a day and its precision."""
    if m := _ISO.search(text):
        return _day(int(m["year"]), int(m["month"]), int(m["day"]), "day")
    if m := _DAY_FIRST.search(text):
        return _day(int(m["year"]), MONTH_NUMBERS[m["month"].lower()], int(m["day"]), "day")
    if (m := _MONTH_FIRST.search(text)) and (in_year := int(m["year"] or 0) or year):
        return _day(in_year, MONTH_NUMBERS[m["month"].lower()], int(m["day"]), "day")
    if m := _MONTH_YEAR.search(text):
        return _day(int(m["year"]), MONTH_NUMBERS[m["month"].lower()], 15, "month")
    if m := _YEAR.search(text):
        return _day(int(m["year"]), 7, 1, "year")
    return None


def _day(year: int, month: int, day: int, precision: str) -> tuple[date, str] | None:
    try:
        return date(year, month, day), precision
    except ValueError:
        return None


def count(a: Dated, b: Dated, unit: str | None) -> tuple[int, str, bool]:
    """The time from the earlier date to the later in ``unit`` (for "how long", the unit
    that suits it), and whether the count is rounded."""
    early, late = sorted((a, b), key=lambda d: d.when)
    days = (late.when - early.when).days
    coarse = {early.precision, late.precision}
    if unit is None:
        unit = "day" if coarse == {"day"} else "month" if "year" not in coarse else "year"
    if unit == "year":
        if "year" in coarse:
            return late.when.year - early.when.year, unit, True
        return round(days / 365.25), unit, days % 365 > 3
    if unit == "month":
        months = (late.when.year - early.when.year) * 12 + late.when.month - early.when.month
        return months, unit, coarse != {"day"} or late.when.day != early.when.day
    if "year" in coarse or "month" in coarse:
        return round(days / (7 if unit == "week" else 1)), unit, True
    return (days // 7, unit, days % 7 != 0) if unit == "week" else (days, unit, False)


_GRAIN = {"day": 0, "week": 0, "month": 1, "year": 2}


def _fine_enough(a: Dated, b: Dated, unit: str | None) -> bool:
    """Both dates are at least as fine as the unit asked (a day or a week wants days)."""
    if unit is None:
        return True
    return all(_GRAIN[d.precision] <= _GRAIN[unit] for d in (a, b))


def spelled(n: int, unit: str) -> str:
    """"six months", "28 days", "one year": numbers to ten in words, as English prints them."""
    word = _NUMBER_WORDS[n - 1] if 1 <= n <= len(_NUMBER_WORDS) else str(n)
    return f"{word} {unit}{'' if n == 1 else 's'}"


def interval_answer(
    question: str, query: str, notice: str | None, passages: list[Passage],
    date_of: Callable[[str], Dated | None],
) -> Answer | None:
    """The time between the two events of ``question``, each dated by ``date_of`` (None when
    the question asks no interval, an event is not dated, or the two dates are one)."""
    asked = asked_interval(question)
    if asked is None:
        return None
    a, b = date_of(asked.first), date_of(asked.second)
    if a is None or b is None or a.when == b.when or a.citation == b.citation:
        return None
    if not _fine_enough(a, b, asked.unit):
        return None  # "2025" dates nothing to the day
    n, unit, rounded = count(a, b, asked.unit)
    if n <= 0:
        return None
    early, late = sorted((a, b), key=lambda d: d.when)
    also = ""
    if asked.unit is None and unit == "day" and n >= 60:  # "how long": 198 days, and in months
        months, _, _ = count(a, b, "month")
        also = f" (about {spelled(months, 'month')})"
    text = f"{'About ' if rounded else ''}{spelled(n, unit)}{also}: from {early.text} [1] to " \
           f"{late.text} [2]."
    return Answer(text=text[0].upper() + text[1:], abstained=False,
                  citations=[early.citation, late.citation], passages=passages, query=query,
                  backend="extractive", notice=notice, short=None)

