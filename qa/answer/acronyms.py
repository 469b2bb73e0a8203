"""Acronyms and the names they stand for, read off the letters: a question's "U.S." is a
passage's "the United States", its "NDAA" the "National Defense Authorization Act", and a
passage's "DPRK" the question's "Democratic People's Republic of Korea". Without this, a name
the question says one way looks new where the passage says it the other (and "the United
States" becomes the answer to "What did the U.S. agree to?")."""

from __future__ import annotations

import functools
import re

from qa.index.lexical import tokenize

# "U.S.", "UN", "NDAA", "EOs": two to six capitals, dotted or not (a closed pattern of English).
_ACRONYM = re.compile(r"(?<![\w.])(?:[A-Z]\.){2,}|\b[A-Z]{2,6}(?=s?\b)")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")
# Words a name's initials skip ("Bureau of Industry and Security" is BIS): a closed class.
_SKIPPED = frozenset({"of", "and", "the", "for", "on", "to", "in", "&"})
_JOINS = re.compile(r"[\s-]+")  # what may stand between the words of one name


def _letters(acronym: str) -> str:
    return re.sub(r"[^A-Z]", "", acronym)


@functools.lru_cache(maxsize=4096)
def expansions(text: str, acronym: str) -> tuple[str, ...]:
    """The title-case names in ``text`` whose initials spell ``acronym``."""
    letters = _letters(acronym)
    if len(letters) < 2:
        return ()
    words = list(_WORD.finditer(text))
    out = []
    for i, first in enumerate(words):
        if first.group()[0] != letters[0]:
            continue
        k, end, j = 0, first.end(), i
        while j < len(words) and k < len(letters):
            word = words[j]
            if j > i and not _JOINS.fullmatch(text[words[j - 1].end() : word.start()]):
                break
            if word.group().lower() in _SKIPPED and k:
                j += 1
                continue
            if word.group()[0] != letters[k]:
                break
            k, end, j = k + 1, word.end(), j + 1
        if k == len(letters):
            out.append(text[first.start() : end])
    return tuple(out)


def aliases(question: str, text: str) -> frozenset[str]:
    """The words of ``text`` by which it names what the question names another way: the
    expansion of an acronym the question uses, or an acronym of a name the question spells
    out (as ``tokenize`` gives them)."""
    words: set[str] = set()
    asked = set(_ACRONYM.findall(question))
    for acronym in asked:
        for name in expansions(text, acronym):
            words.update(tokenize(name))
    spelt = {_letters(a) for a in asked}
    for acronym in set(_ACRONYM.findall(text)):  # "U.S." for "US", "NDAA" for its name
        if _letters(acronym) in spelt or expansions(question, acronym):
            words.update(tokenize(acronym))
    return frozenset(words)


def covered(question: str, text: str) -> frozenset[str]:
    """The question's words (as ``tokenize`` gives them) that ``text`` says another way: an
    acronym of the question that ``text`` spells out, or a name the question spells out that
    ``text`` abbreviates."""
    words: set[str] = set()
    for acronym in set(_ACRONYM.findall(question)):
        if expansions(text, acronym) or any(
            _letters(a) == _letters(acronym) for a in _ACRONYM.findall(text)
        ):
            words.update(tokenize(acronym))
    for acronym in set(_ACRONYM.findall(text)):
        for name in expansions(question, acronym):
            words.update(tokenize(name))
    return frozenset(words)
