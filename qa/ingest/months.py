"""The month names of English as texts write them ("June", "Aug.", "Sept"): one table for the
index-time rules and the reader, which all read dates."""

from __future__ import annotations

import calendar

MONTH_NUMBERS: dict[str, int] = {
    **{m.lower(): n for n, m in enumerate(calendar.month_name) if m},
    **{m.lower(): n for n, m in enumerate(calendar.month_abbr) if m},
    "sept": 9,
}
# The names as one alternation, longest first ("june" before "jun"); match case-insensitively.
MONTH_NAMES = "|".join(sorted(MONTH_NUMBERS, key=len, reverse=True))
MONTH = rf"(?:{MONTH_NAMES})\.?"  # a month, with an abbreviation's dot
