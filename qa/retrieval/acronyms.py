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
            said = word.group()
            if len(said) > 1 and said.isupper():
                # an acronym inside the name gives all its letters ("UN Security Council"
                # is the UNSC), or none
                if not letters.startswith(said, k):
                    break
                k, end, j = k + len(said), word.end(), j + 1
                continue
            if said[0] != letters[k]:
                break
            k, end, j = k + 1, word.end(), j + 1
        if k == len(letters):
            out.append(text[first.start() : end])
    return tuple(out)


@functools.lru_cache(maxsize=4096)
def _found(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_ACRONYM.findall(text)))


def is_acronym(word: str) -> bool:
    """Whether ``word`` is an acronym ("CAATSA", "U.S.") by the same pattern the matching
    uses."""
    return _ACRONYM.fullmatch(word) is not None


@functools.lru_cache(maxsize=65536)
def _pairs(question: str, text: str) -> tuple[tuple[str, str], ...]:
    """(as the question says it, as ``text`` says it) for each name the two say differently:
    an acronym of one spelt out in the other, or one acronym dotted in one and not the other
    ("US" and "U.S.")."""
    pairs: list[tuple[str, str]] = []
    in_text = _found(text)
    for acronym in _found(question):
        pairs += [(acronym, name) for name in expansions(text, acronym)]
        pairs += [(acronym, other) for other in in_text
                  if other != acronym and _letters(other) == _letters(acronym)]
    for acronym in in_text:
        pairs += [(name, acronym) for name in expansions(question, acronym)]
    return tuple(pairs)


def aliases(question: str, text: str) -> frozenset[str]:
    """The words of ``text`` by which it names what the question names another way (as
    ``tokenize`` gives them)."""
    return frozenset(w for _, said in _pairs(question, text) for w in tokenize(said))


def covered(question: str, text: str) -> frozenset[str]:
    """The question's words (as ``tokenize`` gives them) that ``text`` says another way."""
    return frozenset(w for asked, _ in _pairs(question, text) for w in tokenize(asked))
