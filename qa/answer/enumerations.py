"""The items of an enumeration, which a list question wants quoted one by one.

A sentence opens or announces an enumeration when the sentences after it open with ordinals
("Several factors explain this." then "First, …", "Next, …"), or when it leads in (a colon, a
dash, or a clause broken off where a conversion dropped its dash) and the clauses after it
carry labels ("… for the following purposes:" then "(1) …", "(2) …").
The items are read from the stored sentences that follow it in its document, through the
chunks after its own, so items in the next passage count.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa.index.opened import OpenedIndex
    from qa.index.sentence_vectors import StoredSentence

MAX_ITEMS = 6  # items of an enumeration quoted for a list question
WINDOW = 1500  # characters after the announcing sentence searched for its items
# Words that carry an enumeration on after its ordinals: a closed class of English.
SEQUELS = frozenset({"next", "then", "finally", "lastly", "last"})
_LABEL = re.compile(r"\s*\((?:(?P<digit>\d{1,3})|(?P<upper>[A-Z]{1,2})|(?P<roman>[ivxl]{1,5})"
                    r"|(?P<lower>[a-z]{1,2}))\)\s")


def enumeration_items(
    index: OpenedIndex, source: str, text: str, end: int,
    entities: tuple[tuple[str, int, int], ...],
) -> list[StoredSentence]:
    """The items of the enumeration the sentence ``text`` (ending at offset ``end`` of
    ``source``) opens or announces, in reading order; fewer than two items are none.

    After a lead-in, the items are the clauses labelled in the style of the first label that
    follows ("(A) …", "(B) …", not their "(i) …"), up to a label in the announcing clause's
    own style ("(2) …"). Otherwise they are the run of sentences that open with an ordinal, by
    the stored NER ("First, …", "Secondly, …"), or with a sequel word once the run has begun
    ("Next, …"), up to a second "First, …"."""
    following = index.sentences_within(source, end, end + WINDOW)
    found = _labelled(text, following) if leads_in(text) else []
    if not found:
        found = _ordinals(text, entities, following)
    found = found[:MAX_ITEMS]
    return found if len(found) >= 2 else []


def _ordinals(
    text: str, entities: tuple[tuple[str, int, int], ...], following: list[StoredSentence]
) -> list[StoredSentence]:
    items: list[StoredSentence] = []
    first = _opener(text) if _opens_with_ordinal(entities) else None
    for s in following:
        ordinal = _opens_with_ordinal(s.entities)
        if ordinal and _opener(s.text) == (first or (_opener(items[0].text) if items else None)):
            break  # a second "First, …": another enumeration begins
        if ordinal or (items and _opener(s.text) in SEQUELS):
            items.append(s)
    return items


def _labelled(text: str, following: list[StoredSentence]) -> list[StoredSentence]:
    own = label_style(text)
    style = next((st for st in (label_style(s.text) for s in following) if st), None)
    items = []
    for s in following:
        mine = label_style(s.text)
        if mine is not None and mine == own and mine != style:
            break  # the next clause of the announcing one's level: the list is over
        if mine is not None and mine == style:
            items.append(s)
    return items


def leads_in(text: str) -> bool:
    """Whether a clause leads into labelled items: it ends in a colon or a dash ("… the
    following entities:"), or breaks off mid-clause ("… the ability of the Government of Syria
    to" where a conversion dropped the dash that followed)."""
    tail = text.rstrip()
    return tail.endswith((":", "—", "–")) or tail[-1:].isalnum()


def _opens_with_ordinal(entities: tuple[tuple[str, int, int], ...]) -> bool:
    return any(label == "ORDINAL" and a == 0 for label, a, _ in entities)


def _opener(text: str) -> str:
    """The words before a sentence's first comma ("first" of "First, …")."""
    return text.split(",", 1)[0].strip().lower()


def label_style(text: str) -> str | None:
    """Which kind of enumeration label opens a clause: "(1)", "(A)", "(i)" or "(a)"."""
    m = _LABEL.match(text)
    return m.lastgroup if m else None
