"""What a question asks for, read off spaCy's parse: answer type, constraints and parts.

The reader uses this instead of capitalisation and word lists: the wh-word and the noun it
governs give the expected answer type ("how many troops" counts troops; "which country" wants
a place), the named entities and years of the question are constraints a candidate must meet,
the possessor of the focus noun ("Ukraine's defence minister") is one too, and coordinated
clauses or compared noun phrases become parts answered one by one.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from qa.ingest.linguistics import NAME, nlp, role_group
from qa.retrieval.acronyms import is_acronym

# Answer types and the spaCy entity labels that can fill them.
PERSON, ORG, PLACE, DATE, NUMBER, MONEY, PERCENT, QUANTITY, MEASURE, DURATION, AGENT, OFFICE = (
    "person", "organisation", "place", "date", "number", "money", "percent", "quantity",
    "measure",  # "how large", "how high": a size, amount or share
    "duration",  # "how long", "how soon": a stretch or point of time
    "agent",  # "who": a person, or an office, body or state that acts ("the Secretary of State")
    "office",  # "which minister": a person, or the office itself; never a country
)
LAW = "law"  # "which section", "which bill": a named legal instrument or a part of one
REASON, DESCRIPTION, LIST, YESNO, COMPARISON = (
    "reason", "description", "list", "yes/no", "comparison"
)
# NAME: proper nouns the NER left unlabelled (qa.ingest.linguistics) can fill any named type.
ENTITY_LABELS: dict[str, frozenset[str]] = {
    PERSON: frozenset({"PERSON", NAME}),
    AGENT: frozenset({"PERSON", "ORG", "NORP", "GPE", NAME}),
    OFFICE: frozenset({"PERSON", "ORG", NAME}),
    ORG: frozenset({"ORG", "NORP", "GPE", NAME}),
    PLACE: frozenset({"GPE", "LOC", "FAC", NAME}),
    DATE: frozenset({"DATE", "TIME"}),
    NUMBER: frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT", "ORDINAL"}),
    MEASURE: frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"}),
    DURATION: frozenset({"DATE", "TIME", "QUANTITY"}),  # spaCy: "120 days" is a DATE
    MONEY: frozenset({"MONEY"}),
    PERCENT: frozenset({"PERCENT"}),
    QUANTITY: frozenset({"QUANTITY", "CARDINAL"}),
    LAW: frozenset({"LAW", NAME}),
}
TYPED = frozenset(ENTITY_LABELS)
# The label that fills each type by itself, not as a fallback: an organisation is an ORG
# before it is a country acting as one, a person a PERSON before an office.
PRIMARY_LABELS: dict[str, frozenset[str]] = {
    PERSON: frozenset({"PERSON"}), AGENT: frozenset({"PERSON"}), OFFICE: frozenset({"PERSON"}),
    ORG: frozenset({"ORG"}),
    PLACE: frozenset({"GPE", "LOC"}), DATE: frozenset({"DATE"}),
    NUMBER: frozenset({"CARDINAL"}), MEASURE: frozenset({"QUANTITY", "MONEY", "PERCENT"}),
    DURATION: frozenset({"DATE", "TIME"}), MONEY: frozenset({"MONEY"}),
    PERCENT: frozenset({"PERCENT"}), QUANTITY: frozenset({"QUANTITY"}), LAW: frozenset({"LAW"}),
}
# The head noun after "what"/"which" that names the answer's type. These are the type nouns
# of English questions (a closed class, like wh-words), not words of any document.
TYPE_NOUNS: dict[str, str] = {
    **dict.fromkeys("year date day month decade century time week".split(), DATE),
    **dict.fromkeys("country city state region place capital town nation".split(), PLACE),
    **dict.fromkeys("""person man woman guy official leader author analyst expert scholar
        researcher journalist reporter economist scientist lawyer activist""".split(), PERSON),
    # Offices and roles: filled by a person's name or by the office itself ("the Secretary"),
    # never by a country ("which minister" is not answered "Russia").
    **dict.fromkeys("""senator minister president secretary envoy ambassador chairman chair
        spokesperson spokesman representative commander general governor mayor diplomat
        negotiator adviser advisor coordinator deputy aide post""".split(), OFFICE),
    **dict.fromkeys("river sea lake port island border".split(), PLACE),
    **dict.fromkeys("organization organisation agency institute body company".split(), ORG),
    **dict.fromkeys("percentage percent share proportion rate turnout".split(), PERCENT),
    **dict.fromkeys("amount cost price sum gdp budget revenue income earnings".split(), MONEY),
    **dict.fromkeys("number count total population".split(), NUMBER),
}
# Type nouns that name their answer too ("the ruling United Russia Party", "section 604",
# "Chief Justice Roberts"): they give the answer's type, yet a passage says them, so unlike
# the nouns above they still count as what the question asks about.
NAMING_TYPE_NOUNS: dict[str, str] = {
    **dict.fromkeys("hour minute deadline era season holiday".split(), DATE),
    **dict.fromkeys("""province district territory village county continent mountain ocean
        peninsula strait""".split(), PLACE),
    **dict.fromkeys("politician lawmaker".split(), PERSON),
    **dict.fromkeys("justice judge".split(), OFFICE),
    **dict.fromkeys("""party outlet newspaper publication magazine network bank ministry
        department committee court council firm bureau corporation alliance coalition
        parliament""".split(), ORG),
    **dict.fromkeys("""law bill treaty provision section subsection article directive
        resolution statute regulation amendment""".split(), LAW),
}
KIND_NOUNS = frozenset({"kind", "type", "sort"})  # "what kind of X" asks about X
_MODIFIERS = frozenset({"compound", "amod", "nmod", "poss"})  # of a source noun: "his inaugural"
# Nouns by which a question refers to its sources rather than to what it asks about
# ("according to the outlook", "by the author's estimate", "in his inaugural address"): a
# closed class, like the type nouns; a passage need not repeat them.
SOURCE_NOUNS = frozenset(
    """source sources document documents text report reports author authors article analysis
    outlook paper study speech address statute law act order fact sheet section subsection
    passage passages brief statement transcript piece essay commentary column memo remarks
    briefing""".split()
)
# Kinds of document, each with the words that name it: "the speech" is the document whose title
# or address says "address" or "remarks". A closed class of English; a report and an article
# are left out (a statute speaks of the reports it requires and a treaty of its articles more
# than any asker speaks of a report or an article as a document).
GENRES = tuple(frozenset(kind.split()) for kind in (
    "speech address remarks transcript oration",
    "statute law act code codified",
    "order proclamation executive",
    "statement readout briefing release outcomes",
    "outlook paper essay commentary piece column analysis",
))
TIME_UNITS = frozenset("second minute hour day week month year decade century".split())
# What is measured in time ("how much notice": "15 days"): a closed class.
TIMED_NOUNS = frozenset("time notice warning debate delay leave".split())
# "how" + one of these asks for time ("how soon", "how long after"), any other adjective or
# adverb for a size or amount ("how large", "how big"): a closed class of English.
_TIME_MEASURES = frozenset("long soon late early often frequently recently old".split())
_YESNO_AUX = frozenset(
    "is are was were do does did can could will would should has have had".split()
)
_COMPARE = re.compile(
    r"\b(compare[sd]?|comparison|differ(s|ence|ent)?|versus|vs\.?|contrast|both)\b", re.I
)
_NOT_CONSTRAINT = frozenset({"ORDINAL"})
YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")  # a year as questions and passages write it
# What frames a question rather than says what it asks about: never required of a passage.
FRAMING_NOUNS = frozenset(TYPE_NOUNS) | SOURCE_NOUNS | KIND_NOUNS


@dataclass(frozen=True, kw_only=True)
class QuestionAnalysis:
    """The parse of one question, reduced to what a reader checks a candidate against."""

    question: str
    wh: str | None  # who, what, when, where, why, how, which, how many, how much, ...
    answer_type: str | None  # one of the type constants above, None when open
    focus: str | None  # lemma of the noun the question asks about ("envoy", "troops")
    counted: str | None  # the counted noun of "how many X" (its lemma)
    possessor: str | None  # "Ukraine" in "Ukraine's defence minister"
    entities: tuple[tuple[str, str], ...]  # (label, text) named in the question
    years: tuple[str, ...]
    content: tuple[str, ...]  # lemmas of the content words (nouns, verbs, adjectives, numbers)
    nouns: tuple[str, ...]  # lemmas of nouns, proper nouns and numbers: what must be covered
    written: tuple[tuple[str, str], ...] = ()  # (lemma, as the question writes it) where the
    # two differ past a suffix: "lives" for "life", "media" for "medium"
    parts: tuple[str, ...]  # sub-questions of a multi-part or comparison question
    is_list: bool
    presupposes: bool  # asserts something as given ("why did X …", "since X, …", "X; how …")
    # The nouns and adjectives that say which one a type noun means: "unemployment" in "what
    # is the unemployment rate", "birth" in "what birth year" (empty for any other focus).
    topic: tuple[str, ...] = ()
    # The phrases by which the question names a source: a source noun with its modifiers
    # ("his inaugural speech" -> ("inaugural", "speech"), "the CRS brief" -> ("crs", "brief")).
    source_phrases: tuple[tuple[str, ...], ...] = ()
    source_words: tuple[tuple[str, ...], ...] = ()  # each phrase's words as the question writes
    # them ("inaugural", "speech"): what a search of the named document leaves out
    # Where the wh-phrase sits ("Which outlet said …": the subject), and whether it asks for
    # several things ("which companies"): the slot its answer fills in a sentence.
    wh_role: str | None = None
    wh_plural: bool = False
    wh_count: int = 0  # how many things it asks for, when it says ("which two countries")
    # Each year with the noun it dates ("2024" and "assessment" of "the 2024 annual threat
    # assessment"): a passage about that noun of another year is a near miss.
    dated_nouns: tuple[tuple[str, str], ...] = ()

    @property
    def focus_is_type(self) -> bool:
        """The focus noun only names the answer's type ("what year"), not its topic."""
        return self.focus in TYPE_NOUNS

    def written_form(self, lemma: str) -> str:
        """A word of the question as it writes it ("lives" for the lemma "life")."""
        return dict(self.written).get(lemma, lemma)

    @property
    def primary_labels(self) -> frozenset[str]:
        """The entity labels that fill the expected type by themselves (``PRIMARY_LABELS``)."""
        return PRIMARY_LABELS.get(self.answer_type or "", frozenset()) & self.labels

    @property
    def labels(self) -> frozenset[str]:
        """Entity labels that can fill the expected answer type (empty when untyped)."""
        labels = ENTITY_LABELS.get(self.answer_type or "", frozenset())
        if self.counted in TIME_UNITS or (self.answer_type == QUANTITY
                                           and self.counted in TIMED_NOUNS):
            return labels | {"DATE", "TIME"}  # spaCy labels "30 calendar days" a DATE
        return labels


@functools.lru_cache(maxsize=2048)
def analyse(question: str) -> QuestionAnalysis:
    """Parse ``question`` once (cached) and read its answer type, constraints and parts."""
    doc = nlp()(question)
    tokens = [t for t in doc if not t.is_space]
    wh_token = next((t for t in tokens if _asks(t)), None)
    wh = wh_token.lower_ if wh_token is not None else None
    focus_token = _focus(wh_token)
    counted = None
    if wh == "how" and wh_token is not None:
        nxt = doc[wh_token.i + 1] if wh_token.i + 1 < len(doc) else None
        after = doc[nxt.i + 1] if nxt is not None and nxt.i + 1 < len(doc) else None
        if nxt is not None and nxt.pos_ in ("ADJ", "ADV") and nxt.lower_ not in ("many", "much"):
            focus_token = nxt  # "how long", "how large": the question asks for a measure
        elif nxt is not None and nxt.lower_ == "much" and after is not None \
                and after.tag_ in ("JJR", "RBR"):
            focus_token = after  # "how much longer", "how much larger": a measure again
        elif nxt is not None and nxt.lower_ in ("many", "much"):
            wh = f"how {nxt.lower_}"
            counted_token = nxt.head if nxt.head.pos_ in ("NOUN", "PROPN") else _partitive(nxt)
            counted = counted_token.lemma_.lower() if counted_token is not None else None
            focus_token = counted_token
    answer_type = _answer_type(doc, wh, focus_token)
    # Entities are constraints, except the wh-phrase itself ("what year") and the count it
    # asks for ("which two regions"), what only names a type ("in which month and year") and
    # ordinals.
    phrase = None  # the wh-phrase's head: the noun of "which outlet", else the wh-word
    if wh_token is not None:
        phrase = wh_token.head if wh_token.dep_ in ("det", "poss") and wh_token.head.pos_ in (
            "NOUN", "PROPN") else wh_token
    asked = frozenset() if phrase is None or phrase is wh_token else frozenset(
        [phrase.i, *(t.i for c in phrase.lefts for t in c.subtree)])
    entities = tuple(
        (e.label_, re.sub(r"['’]s$", "", e.text)) for e in doc.ents
        if e.label_ not in _NOT_CONSTRAINT and not any(t.tag_.startswith("W") for t in e)
        and not (e.label_ == "CARDINAL" and any(t.i in asked for t in e))
        and not all(t.lemma_.lower() in TYPE_NOUNS or t.is_stop or t.is_punct for t in e)
    )
    years = tuple(dict.fromkeys(YEAR.findall(question)))
    dated_nouns = tuple(dict.fromkeys(
        (t.text, noun.lemma_.lower()) for t in tokens
        if YEAR.fullmatch(t.text) and (noun := _dated_noun(t)) is not None))
    # A person's given names are not the question's words: the sources go on naming a person
    # by the surname ("Kellogg's appointment" answers "What is Keith Kellogg working on?").
    given = {t.i for e in doc.ents if e.label_ == "PERSON" for t in e[:-1]}
    words = [t for t in tokens if t.i not in given]
    content = tuple(dict.fromkeys(
        t.lemma_.lower() for t in words
        if (t.pos_ in ("NOUN", "PROPN", "VERB", "ADJ", "NUM") or _acronym(t))
        and not t.is_stop and t.is_alpha
        or t.like_num
    ))
    nouns = tuple(dict.fromkeys(
        t.lemma_.lower() for t in words
        # nouns, and figures written as digits ("90 days"; "two factors" only counts)
        if (((t.pos_ in ("NOUN", "PROPN") or _acronym(t)) and not t.is_stop and len(t) > 1)
            or (t.like_num and not t.is_alpha))
        and t.lemma_.lower() not in FRAMING_NOUNS
    ))
    possessor = None
    if focus_token is not None:
        poss = [c for c in focus_token.children if c.dep_ == "poss" and c.pos_ == "PROPN"]
        possessor = poss[0].text if poss else None
    is_list = answer_type == LIST
    topic: tuple[str, ...] = ()
    if focus_token is not None and focus_token.lemma_.lower() in TYPE_NOUNS:
        topic = tuple(
            c.lemma_.lower() for c in focus_token.children
            if c.dep_ in ("compound", "amod", "nmod") and c.pos_ in ("NOUN", "ADJ", "PROPN")
            and c.is_alpha and not c.is_stop
        )
    source_nouns = [t for t in tokens if t.lemma_.lower() in SOURCE_NOUNS
                    and (t.pos_ == "NOUN" or role_group(t))  # "the CRS brief", an adjective
                    and not _in_order(t)]
    modifiers = [[m for c in t.lefts if c.dep_ in _MODIFIERS for m in c.subtree
                  if m.is_alpha and m.pos_ in ("NOUN", "PROPN", "ADJ")] for t in source_nouns]
    # Its number ("Executive Order 13660") or year ("the 2022 order"): which one it is.
    numbers = [[c for c in t.children if c.like_num and (c.i > t.i or YEAR.fullmatch(c.text))]
               for t in source_nouns]
    source_phrases = tuple(
        (*(m.lemma_.lower() for m in mods), *(c.text for c in nums), t.lemma_.lower())
        for t, mods, nums in zip(source_nouns, modifiers, numbers, strict=True))
    source_words = tuple(
        (*(m.text for m in mods), *(c.text for c in nums), t.text)
        for t, mods, nums in zip(source_nouns, modifiers, numbers, strict=True))
    return QuestionAnalysis(
        question=question, wh=wh, answer_type=answer_type,
        focus=focus_token.lemma_.lower() if focus_token is not None else None,
        counted=counted, possessor=possessor, entities=entities, years=years,
        content=content, nouns=nouns, parts=_parts(doc), is_list=is_list,
        written=tuple(dict.fromkeys(
            (t.lemma_.lower(), t.lower_) for t in tokens
            if t.lower_[:5] != t.lemma_.lower()[:5]  # (words match by their first five letters)
        )),
        presupposes=_presupposes(doc, wh), topic=topic, source_phrases=source_phrases,
        source_words=source_words,
        dated_nouns=dated_nouns,
        wh_role=role_group(phrase) if phrase is not None else None,
        wh_plural=phrase is not None and phrase.tag_ in ("NNS", "NNPS"),
        wh_count=_count_of(phrase) or _count_of(focus_token),
    )


_COUNT_WORDS = {w: n for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}


def _in_order(token: Any) -> bool:
    """"order" of the fixed expressions "in order to", "in order that" and "in order" (one
    after the other), not a document: a bare "order" right after "in"."""
    return (token.lower_ == "order" and token.i > 0 and token.doc[token.i - 1].lower_ == "in"
            and not any(c.dep_ in ("det", "poss", "amod", "compound") for c in token.children))


def _count_of(phrase: Any) -> int:
    """The number a question puts on the noun it asks for ("which two countries", "what are
    the three scenarios", "both sides"), or 0."""
    if phrase is None:
        return 0
    for c in phrase.children:
        word = c.lower_
        if word == "both":
            return 2
        if c.dep_ == "nummod" and (word in _COUNT_WORDS or word.isdigit()):
            return _COUNT_WORDS.get(word) or int(word)
    return 0


# What "Can you …" asks for when it asks for words, not a yes or no: a closed class.
_REQUESTS = frozenset("name list tell give identify describe explain summarise summarize".split())
_WH_WORDS = frozenset("what which who whom whose when where why how".split())
# Wh-words that ask for a typed answer whatever else the question says ("For how many days
# … after both chambers pass it?" counts days; it compares nothing).
_TYPED_WH = frozenset({"how many", "how much", "when", "where", "who", "whom", "whose"})


def _asks(token: Any) -> bool:
    """A wh-word that asks, not one that opens a relative clause ("the countries that formed
    the team", "the order, which took effect …")."""
    if token.tag_ not in ("WP", "WRB", "WDT", "WP$") or token.lower_ not in _WH_WORDS:
        return False
    verb = token.head.head if token.dep_ in ("det", "poss") else token.head  # "which order"
    return verb.dep_ != "relcl"


def _acronym(token: Any) -> bool:
    """An acronym ("CAATSA", "MSMT"): a name, whatever the small tagger makes of a word it has
    not seen (it tags "Who signed CAATSA into law?"'s "CAATSA" an adverb)."""
    return token.is_alpha and is_acronym(token.text)


_PRESUPPOSING = frozenset({"since", "given", "because", "as", "after", "now"})


def _presupposes(doc: Any, wh: str | None) -> bool:
    """Whether the question takes something as given: a why-question, a clause opened by
    "since"/"given that"/"now that", or a statement set before the question itself."""
    if wh == "why":
        return True
    if len(list(doc.sents)) > 1 or any(t.text == ";" for t in doc):
        return True
    if any(t.lower_ in ("given", "now") and t.i + 1 < len(doc) and doc[t.i + 1].lower_ == "that"
           for t in doc):
        return True  # "Given that the fund got $500 million, …" (the parser calls it a verb)
    return any(
        t.lower_ in _PRESUPPOSING and t.dep_ in ("mark", "prep", "advmod") and t.head.dep_
        in ("advcl", "ROOT", "ccomp") and not (t.lower_ in _TEMPORAL and t.dep_ != "mark")
        for t in doc
    )


# These presuppose when they open a clause ("since the Senate passed it, …"), not when they
# only date something ("occupied since 2008", "after the vote").
_TEMPORAL = frozenset({"since", "after"})


def _focus(wh_token: Any) -> Any:
    """The noun the wh-word asks about: "which country", "what year", "who is the envoy"."""
    from spacy.tokens import Token

    if not isinstance(wh_token, Token):
        return None
    if wh_token.dep_ == "det" and wh_token.head.pos_ in ("NOUN", "PROPN"):
        head = wh_token.head  # "what scenarios", "which country"
        if head.lemma_.lower() in KIND_NOUNS:  # "what kind of peace": the peace
            of = [p for c in head.children if c.dep_ == "prep" and c.lower_ == "of"
                  for p in c.children if p.dep_ == "pobj" and p.pos_ in ("NOUN", "PROPN")]
            return of[0] if of else head
        return head
    after = wh_token.doc[wh_token.i + 1] if wh_token.i + 1 < len(wh_token.doc) else None
    if wh_token.tag_ == "WDT" or (  # "what scenarios …", where the tagger says pronoun
        wh_token.lower_ in ("what", "which") and after is not None
        and after.pos_ in ("NOUN", "ADJ")
    ):
        # "In which city did …", "Which Indian minister …": the small parser can miss the
        # determiner arc; an English noun phrase is head-final, so the focus is the last
        # noun of the run of modifiers and nouns right after the wh-determiner.
        doc, noun = wh_token.doc, None
        for t in doc[wh_token.i + 1 :]:
            if t.pos_ not in ("ADJ", "PROPN", "NOUN", "NUM"):
                break
            if t.pos_ == "NOUN":
                noun = t
        return noun
    root = wh_token.head
    if root.lemma_ == "be":  # "who/what is the envoy": the subject is the focus
        subj = [c for c in root.children if c.dep_ in ("nsubj", "attr") and c != wh_token]
        if subj and subj[0].pos_ in ("NOUN", "PROPN"):
            return subj[0]
    return None


def _answer_type(doc: Any, wh: str | None, focus: Any) -> str | None:
    from spacy.tokens import Doc, Token

    assert isinstance(doc, Doc)
    text = doc.text
    if _COMPARE.search(text) and wh not in _TYPED_WH:
        return COMPARISON
    focus_lemma = focus.lemma_.lower() if isinstance(focus, Token) else None
    plural = isinstance(focus, Token) and focus.tag_ in ("NNS", "NNPS")
    if wh == "how many":
        return NUMBER
    if wh == "how much":
        # "How much money …" wants a sum; "By how much did wages grow?" any measure (a
        # share, a sum, a quantity); "how much oil" a quantity.
        if focus_lemma in ("money", "funding", "aid"):
            return MONEY
        return MEASURE if focus_lemma is None else QUANTITY
    if wh in ("who", "whom", "whose"):
        root = next((t for t in doc if t.dep_ == "ROOT"), None)
        named = [c for c in (root.children if root is not None else ())
                 if c.dep_ in ("nsubj", "attr") and c.pos_ == "PROPN" and c.ent_type_ == "PERSON"]
        if root is not None and root.lemma_ == "be" and named:
            return DESCRIPTION  # "Who is Keith Kellogg?" asks what the person is, not a name
        return AGENT
    if wh == "when":
        return DATE
    if wh == "where":
        return PLACE
    if wh == "why":
        return REASON
    if wh == "how" and focus is None:
        return DESCRIPTION
    if wh == "how":
        return DURATION if focus_lemma in _TIME_MEASURES else MEASURE
    if wh in ("what", "which") and focus_lemma is not None:
        if focus_lemma in TYPE_NOUNS:
            return TYPE_NOUNS[focus_lemma]
        if focus_lemma in NAMING_TYPE_NOUNS and _wh_determined(focus):
            return NAMING_TYPE_NOUNS[focus_lemma]
        if focus_lemma in ("percentage", "percent"):
            return PERCENT
        if plural:  # "what scenarios …", "which groups …", "what are the conditions …"
            return LIST
    if wh is None:
        first = doc[0].lower_ if len(doc) else ""
        if first in _YESNO_AUX and len(doc) > 2 and doc[1].lower_ == "you" \
                and doc[2].lemma_.lower() in _REQUESTS:  # "Can you name the 10 countries …?"
            plural = any(t.tag_ in ("NNS", "NNPS") and t.dep_ == "dobj" for t in doc)
            return LIST if plural else DESCRIPTION
        if first in _YESNO_AUX:
            return YESNO
        if first in ("list", "name", "enumerate"):
            return LIST
    return DESCRIPTION


def _wh_determined(focus: Any) -> bool:
    """The wh-word heads the focus's own phrase ("which NATO treaty provision", "in what
    publication"), as against a copula's subject ("What is the Partnership Treaty?", which
    asks what the treaty is, not for a treaty's name)."""
    doc, j = focus.doc, focus.i - 1
    while j >= 0 and doc[j].pos_ in ("ADJ", "PROPN", "NOUN", "NUM"):
        j -= 1
    return j >= 0 and doc[j].lower_ in ("what", "which")


def _parts(doc: Any) -> tuple[str, ...]:
    """Sub-questions: two coordinated clauses ("What is X, and what does he think of Y?"), or
    for a comparison the two compared noun phrases ("How do A and B differ on C?" becomes
    "How do A differ on C?" and "How do B differ on C?": each side retrieved on its own)."""
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    if root is None:
        return ()
    conj = [c for c in root.children if c.dep_ == "conj" and c.pos_ in ("VERB", "AUX")]
    if conj:
        second = conj[0]
        start = min(t.i for t in second.subtree)
        cut = start
        while cut > 0 and doc[cut - 1].dep_ in ("cc", "punct"):
            cut -= 1
        first_text = doc[:cut].text.strip(" ,;")
        second_text = doc[start:].text.strip()
        if len(first_text.split()) < 3 or len(second_text.split()) < 3:
            return ()
        person = next((e.text for e in doc.ents if e.label_ == "PERSON" and e.end <= cut), None)
        if person:  # "… Kellogg's role, and what does he think …": the part names him
            person = re.sub(r"['’]s$", "", person)
            second_text = re.sub(r"\b(he|she)\b", person, second_text, flags=re.I)
            second_text = re.sub(r"\b(his|her)\b", f"{person}'s", second_text, flags=re.I)
        return (first_text + "?", second_text)
    if not (_COMPARE.search(doc.text) or _alternatives(doc)):
        return ()
    compared = _compared_with(doc)
    if compared:
        return compared
    for head in doc:
        sides = [c for c in head.children if c.dep_ == "conj" and c.pos_ in ("NOUN", "PROPN")]
        if head.pos_ not in ("NOUN", "PROPN") or not sides:
            continue
        other = sides[0]
        left = [t for t in head.subtree if t.i < other.i and t.dep_ not in ("cc", "punct")
                and t not in other.subtree]
        right = list(other.subtree)
        span_start = min(t.i for t in head.subtree)
        span_end = max(t.i for t in other.subtree) + 1
        before, after = doc[:span_start].text, doc[span_end:].text
        return tuple(
            " ".join(f"{before} {' '.join(t.text for t in side)} {after}".split())
            for side in (left, right)
        )
    return ()


# Words that weigh one alternative against another without a comparative's -er: a closed class.
_WEIGHING = frozenset({"first", "same", "sooner", "earlier", "later", "most", "least"})


def _alternatives(doc: Any) -> bool:
    """An alternative question: two things joined by "or" and weighed against each other
    ("Has Kim met Putin or Xi more often?", "Which came first: A or B?")."""
    return any(t.dep_ == "cc" and t.lower_ == "or" for t in doc) and any(
        t.tag_ in ("JJR", "RBR", "JJS", "RBS") or t.lower_ in _WEIGHING for t in doc)


def _partitive(many: Any) -> Any:
    """The noun counted by "how many of the X" (the object of its "of"), else None."""
    of = next((c for c in many.children if c.dep_ == "prep" and c.lower_ == "of"), None)
    noun = next((c for c in of.children if c.dep_ == "pobj"), None) if of is not None else None
    return noun if noun is not None and noun.pos_ in ("NOUN", "PROPN") else None


def _dated_noun(year: Any) -> Any:
    """The common noun a year modifies ("assessment" of "the 2024 annual threat assessment",
    "report" of "the May 2026 report"), through the date it is part of; None for a year that
    dates a clause ("in 2024, …")."""
    token = year
    for _ in range(3):
        if token.dep_ not in ("nummod", "compound", "amod", "nmod", "npadvmod", "appos"):
            return None
        token = token.head
        if token.pos_ == "NOUN" and token.ent_type_ != "DATE":
            return token
    return None


def _compared_with(doc: Any) -> tuple[str, ...]:
    """"X, compared with Y" / "How does X compare with Y?": the question about X (without
    the comparison) and the same question about Y, Y standing where X stood. X is the
    subject of "compare", else the last noun phrase before it; a Y of "ones" or a bare
    possessive ("Germany's") takes X's noun ("the Ukraine-related sanctions")."""
    verb = next((t for t in doc if t.lemma_.lower() == "compare"), None)
    prep = next((c for c in verb.children if c.dep_ == "prep"
                 and c.lower_ in ("with", "to")), None) if verb is not None else None
    other = next((c for c in prep.children if c.dep_ == "pobj"), None) if prep else None
    if verb is None or prep is None or other is None:
        return ()
    subjects = [c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")]
    label = other.ent_type_
    if subjects:  # the subject with all its modifiers ("the thresholds for the pipelines")
        tokens = sorted(subjects[0].subtree, key=lambda t: t.i)
        while tokens and (tokens[0].tag_.startswith("W") or tokens[0].pos_ == "AUX"):
            tokens = tokens[1:]  # ("How do" the parser may hang under the subject)
        if not tokens:
            return ()
        side = doc[tokens[0].i : tokens[-1].i + 1]
    elif label:  # "in 2024 compared with 2023": the entity of the same kind before it
        side = next((e for e in reversed(doc.ents) if e.label_ == label and e.end <= verb.i),
                    None)
    else:
        side = next((c for c in reversed(list(doc.noun_chunks)) if c.end <= verb.i
                     and c.root.pos_ != "PRON" and not any(t.tag_.startswith("W") for t in c)),
                    None)
    if side is None:
        return ()
    y_tokens = sorted(other.subtree, key=lambda t: t.i)
    y = doc[y_tokens[0].i : y_tokens[-1].i + 1].text
    noun = side.root.text
    if other.lemma_.lower() == "one":  # "the Ukraine-related ones"
        y = f"{doc[y_tokens[0].i : other.i].text} {noun}"
    elif other.lower_ in ("that", "those", "these", "this"):  # "those for the pipelines"
        y = f"{noun} {doc[other.i + 1 : y_tokens[-1].i + 1].text}"
    elif other.tag_ == "POS" or y.endswith(("'s", "’s")):  # "Germany's"
        y = f"{y} {noun}"
    if side[0].lower_ not in ("the", "a", "an"):  # "the House" is "the" + the entity "House"
        y = re.sub(r"^(?:the|a|an)\s+", "", y, flags=re.IGNORECASE)
    if subjects:  # "How does X compare with Y?": drop "with Y"
        cut = (prep.i, y_tokens[-1].i + 1)
    else:  # "…, compared with Y": drop the whole phrase and the comma before it
        start = min(t.i for t in verb.subtree)
        while start > 0 and doc[start - 1].is_punct:
            start -= 1
        cut = (start, max(t.i for t in verb.subtree) + 1)
    base = (doc[: cut[0]].text + " " + doc[cut[1] :].text).strip()
    base = " ".join(re.sub(r"\s+([?.,])", r"\1", base).split())
    if side.text not in base:
        return ()
    return base, base.replace(side.text, " ".join(y.split()), 1)
