"""Term checks for generated claims: names, numbers and dates a claim turns on must appear in
the passages it cites (used by ``qa.answer.verify`` on LLM answers).

The extractive reader (``qa.answer.extractive``) does not use these: its candidates carry
their parse from index time. A generated claim is free text with no stored parse, and this
check runs on every claim of every LLM answer, so it stays a cheap pattern check.
"""

from __future__ import annotations

import re

from qa.index.lexical import stem
from qa.retrieval.questions import METONYMS

_NUMBER = re.compile(r"\b\d[\d,.]*\b")
_CAPITALISED = re.compile(r"\b[A-Z][\w’'-]*[A-Za-z0-9]\b|\b[A-Z]\b")
_STRUCTURE_REF = re.compile(r"\b(section|part|chapter|paragraph|block|position|no\.?)\s*$", re.I)
_LABEL = re.compile(
    r"\b(?:Position|Plan|Option|Scenario|Article|Section|Phase|Stage|Type|Group|Annex|Table|"
    r"Figure|Title|Chapter)\s+(?:[A-Z]|[IVX]{1,4}|\d{1,3})\b"
)
_QUOTED = re.compile(r"[\"“]([^\"”]{3,60})[\"”]")
GENERIC_CAPITALS = frozenset(
    """what who whom whose when where why how which is are was were do does did can could would
    should will the a an and in on of for to according i if please tell explain describe give list
    summarize summarise name is does has have did according per as by with about from s""".split()
)


def hinge_terms(question: str) -> list[str]:
    """Names, numbers, dates and quoted phrases the question turns on."""
    terms: list[str] = []
    for m in _QUOTED.finditer(question):
        terms.append(m.group(1))
    terms.extend(m.group() for m in _LABEL.finditer(question))
    for m in _NUMBER.finditer(question):
        value = m.group().rstrip(".,")
        if value and not _STRUCTURE_REF.search(question[: m.start()]):
            terms.append(value)
    words = list(_CAPITALISED.finditer(question))
    for m in words:
        word = m.group().strip("’'-")
        if (
            m.start() == 0
            or word.lower() in GENERIC_CAPITALS
            or len(word) < 2
            or re.fullmatch(r"I['’]\w+", word)  # I've, I'm
        ):
            continue
        terms.append(word)
    seen: list[str] = []
    for t in terms:
        if t not in seen:
            seen.append(t)
    return seen


def term_present(term: str, haystack: str) -> bool:
    """Case-insensitive presence, tolerant of inflection ("Korean" matches "Korea")."""
    low = term.lower().replace("’", "'")
    if _LABEL.fullmatch(term):  # "Position A" must not match "position above"
        return re.search(rf"\b{re.escape(low)}\b", haystack) is not None
    if low in haystack:
        return True
    if re.fullmatch(r"[\d,.]+", low):
        return low.replace(",", "") in haystack.replace(",", "")
    words = [w for w in re.split(r"[\s/-]+", low) if w]
    if all(_word_present(w, haystack) for w in words):
        return True
    return _acronym_present(term, haystack)


def _acronym_present(term: str, haystack: str) -> bool:
    """An all-caps term ("MAGA") spelled out in the text ("Make America Great Again")."""
    letters = term.strip("’'s").replace(".", "")
    if not (2 <= len(letters) <= 8 and letters.isalpha() and letters.isupper()):
        return False
    pattern = r"\b" + r"\W+".join(f"{c.lower()}[\\w’'-]*" for c in letters) + r"\b"
    return re.search(pattern, haystack) is not None


def _word_present(word: str, haystack: str) -> bool:
    word = word.removesuffix("'s").strip("'")
    if not word:
        return True
    alias = METONYMS.get(word)
    if alias and alias.lower().removeprefix("the ") in haystack:
        return True
    if re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", haystack):
        return True
    root = stem(word)
    if len(root) >= 4 and root[: max(4, len(root) - 1)] in haystack:
        return True
    return len(word) >= 5 and word[: max(4, len(word) - 2)] in haystack


def missing_terms(question: str, haystack: str) -> list[str]:
    return [t for t in hinge_terms(question) if not term_present(t, haystack)]











