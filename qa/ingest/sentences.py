"""The one sentence splitter, for cleaned paragraphs (chunking) and generated answers (verify).

Sentences end at ``. ! ?`` (and a closing quote or bracket) before a capital, digit or quote, but
not after abbreviations ("U.S.", "Mr.", "No."), initials ("J."), or inside numbers ("87.3%",
"$5.31 trillion"). A line break always ends a sentence (cleaned paragraphs hold none; a model's
answer uses them between claims).
"""

from __future__ import annotations

import re

ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof st jr sr no nos vol vols vs etc e.g i.e inc ltd co corp gen gov sen rep
    jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k u.n e.u u.s.a u.s.c d.c fed reg
    stat pub p.l a.m p.m art sec secs ch cf al approx dept est fig op para pp pres sr ave
    col lt maj sgt capt adm cmdr rev hon amb""".split()
)
SENTENCE_STARTERS = frozenset(
    "the this that these those it its in however but and as a an for on at if when while we "
    "they he she there thus therefore moreover furthermore meanwhile first second third".split()
)
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9§])")
_TOKEN_BEFORE = re.compile(r"(\S+)$")
_LINE = re.compile(r"[^\r\n]+")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` spans of the sentences of ``text``; spans never end in whitespace."""
    spans: list[tuple[int, int]] = []
    for line in _LINE.finditer(text):
        base = line.start()
        if base:  # a line after a break starts at its first non-space character
            base += len(line.group()) - len(line.group().lstrip())
        spans.extend(_line_sentences(text, base, line.end()))
    return [(s, e) for s, e in spans if e > s]


def _line_sentences(text: str, start: int, stop: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for m in _BOUNDARY.finditer(text, start, stop):
        end = m.end()
        mark = m.start()
        before = _TOKEN_BEFORE.search(text, max(start, mark - 40), mark + 1)
        token = before.group(1) if before else ""
        following = text[end : min(stop, end + 12)].split(" ", 1)[0]
        if _is_abbreviation(token, following):
            continue
        spans.append((start, len(text[:end].rstrip())))
        start = end
    if start < stop:
        spans.append((start, len(text[:stop].rstrip())))
    return spans


def _is_abbreviation(token: str, following: str = "") -> bool:
    word = token.lstrip("\"'“‘([").rstrip(".!?\"'”’)]")
    if not word or token.rstrip("\"'”’)]").endswith(("!", "?")):
        return False
    if re.search(r"[\"'”’)\]]\W*$", token):  # "(Position A). The": a closed clause ends
        return False
    low = word.lower()
    if low in ABBREVIATIONS:
        return True
    if len(word) == 1 and word.isupper():  # an initial ("Donald J. Trump"), not "Plan B. The"
        return following.strip("\"'“‘(").lower() not in SENTENCE_STARTERS
    # Dotted acronyms such as "U.S", "D.C", "U.S.C"
    return bool(re.fullmatch(r"(?:[A-Za-z]\.)+[A-Za-z]?", word + "."))
