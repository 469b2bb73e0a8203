"""Check a question and its history, spot injected instructions, resolve follow-ups.

A follow-up ("What did he write?", "and the turnout?") is rewritten into a self-contained
retrieval query by carrying over the earlier question and the names in the earlier answer.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from qa.errors import QuestionError
from qa.ingest.roles import looks_injected
from qa.models import strip_markers
from qa.retrieval.acronyms import is_acronym

if TYPE_CHECKING:
    from qa.retrieval.analysis import QuestionAnalysis

_ANAPHORA = re.compile(
    r"\b(he|him|his|she|her|hers|they|them|their|it|its|that|this|those|these|there|"
    r"the\s+(former|latter|same|report|author|book|plan|envoy|document)|"
    # "a separate one", "the other one"; "instead" sets the question against the last turn's
    r"(?:a|another|the\s+other|a\s+separate|a\s+similar|the\s+same)\s+one|instead)\b",
    re.IGNORECASE,
)
_ELLIPTIC_START = re.compile(r"^\s*(and|also|what\s+about|how\s+about|and\s+what|or|but)\b", re.I)
_QUESTION_WORDS = frozenset(
    "what who whom whose when where why how which is are was were do does did can could "
    "would should will the a an and in on of according".split()
)


@dataclass(frozen=True)
class PreparedQuestion:
    """A validated question and the query used to retrieve for it."""

    question: str  # as asked (cleaned of control characters, maybe truncated)
    query: str  # self-contained retrieval query
    injected: bool
    notice: str | None = None
    previous: str | None = None  # the last turn's question, when this one leans on it
    resolved: str | None = None  # the follow-up with "he"/"it" replaced by what they stand
    # for, when that alone makes it stand on its own ("Who replaced Sergei Shoigu?")


def clean_question(question: Any, max_chars: int) -> tuple[str, str | None]:
    """Validate and normalise a question; long ones are cut with a notice, not refused."""
    if not isinstance(question, str):
        raise QuestionError(f"the question must be text, not {type(question).__name__}")
    text = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") else ch for ch in question
    )
    text = " ".join(text.split())
    if not text:
        raise QuestionError("the question is empty; type a question about the documents")
    if not any(ch.isalnum() for ch in text):
        raise QuestionError("the question has no words; type a question about the documents")
    notice = None
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0] or text[:max_chars]
        notice = (
            f"Your question was {len(question):,} characters long; only the first "
            f"{len(text):,} were used."
        )
    return text, notice


def check_history(history: Any) -> list[tuple[str, str]]:
    """Earlier turns as (question, answer) text pairs; anything else is a ``QuestionError``."""
    if history is None:
        return []
    if isinstance(history, (str, bytes)) or not isinstance(history, Sequence):
        raise QuestionError("history must be a list of (question, answer) pairs, oldest first")
    turns = []
    for i, turn in enumerate(history):
        if isinstance(turn, dict):
            turn = (turn.get("question"), turn.get("answer"))
        if not isinstance(turn, (list, tuple)) or len(turn) != 2:
            raise QuestionError(f"history turn {i + 1} must be a (question, answer) pair")
        q, a = turn
        a = getattr(a, "text", a)  # an Answer from an earlier call is fine
        if not isinstance(q, str) or not isinstance(a, str):
            raise QuestionError(f"history turn {i + 1} must hold two strings")
        turns.append((q, a))
    return turns


def needs_context(question: str) -> bool:
    """True for questions that only make sense with the earlier turns."""
    words = re.findall(r"[A-Za-z0-9']+", question)
    content = [w for w in words if w.lower() not in _QUESTION_WORDS]
    # A short question naming something new ("the population of Peru?") stands on its own.
    names_something = any(w[:1].isupper() for w in content[1:]) or any(
        w[:1].isupper() for w in content[:1] if w.lower() not in _QUESTION_WORDS
    )
    short_and_bare = len(content) <= 1 and not names_something
    return bool(_ANAPHORA.search(question) or _ELLIPTIC_START.search(question) or short_and_bare
                or not _content_of(question))


def _content_of(question: str) -> tuple[str, ...]:
    """The content words a question says by itself (nouns, verbs, adjectives, figures, by the
    parse): none in "Mostly from what?", which asks what the last turn was about."""
    from qa.retrieval.analysis import analyse

    return analyse(without_symbols(question)).content


_PERSONAL = re.compile(r"\b(he|him|she|her)\b", re.IGNORECASE)
_POSSESSIVE = re.compile(r"\b(his|hers)\b", re.IGNORECASE)
_IT = re.compile(r"\b(it|that law|that order|the law|the order|the act|this law)\b", re.IGNORECASE)
_ITS = re.compile(r"\bits\b", re.IGNORECASE)
_PLURAL = re.compile(r"\b(they|them|their)\b", re.IGNORECASE)
_THEY = re.compile(r"\b(they|them)\b", re.IGNORECASE)
_THEIR = re.compile(r"\btheir\b", re.IGNORECASE)
# "it" speaking: the follow-up asks what a source says ("Did it say …?", "What does it
# recommend?"), so "it" is the document the last question named (closed-class speech verbs).
_SPEECH = (r"say|mention|report|state|describe|claim|write|argue|note|suggest|expect|predict|"
           r"conclude|recommend|find|cite|list|warn|call")
_IT_SAYS = re.compile(
    rf"\b(?:did|does|do|will|would|could|can|might|may)\s+it\s+(?:{_SPEECH})\b"
    rf"|\bit\s+(?:(?:{_SPEECH})(?:s|ed|es)?|said|wrote|found)\b", re.IGNORECASE)
# Verbs of a document's making (closed class): "When was it published?", "Who wrote it?"
_PUBLISHING = frozenset({"write", "publish", "issue", "release", "update", "author", "sign",
                         "date", "produce", "prepare", "compile"})
_IT_PUBLISHED = re.compile(
    r"\b(?:was|is|were|has|had)\s+it\s+(?:\w+\s+)?(?:written|published|issued|released|updated|"
    r"authored|signed|dated|produced|prepared|compiled)\b"
    r"|\b(?:wrote|published|issued|released|updated|authored|signed|produced|prepared)\s+it\b",
    re.IGNORECASE)
# A capitalised word that does not open the sentence: a name of the question's own.
_NAMED_BEFORE = re.compile(r"(?<!^)(?<![.?!] )\b[A-Z][\w.-]*[a-z]")
# Entity labels that can be the "it" of a follow-up: laws, organisations, works, events, ...
_THINGS = frozenset({"LAW", "ORG", "WORK_OF_ART", "EVENT", "PRODUCT", "FAC"})


# "Who did …", "Whom will …": the wh-word is the object, the name after it the subject (the
# small parser reads "Who did Trump address" as a noun compound).
_WHOM_DID = re.compile(r"^\s*(?:who|whom)\s+(?:did|does|do|will|would|has|had|can|could|should|"
                       r"might|may)\s+$", re.IGNORECASE)


# How every abstention opens (qa.answer): such an answer names nothing the conversation is about.
_ABSTAINED = re.compile(r"^\s*The sources do not (?:say|answer)\b")


LOOK_BACK = 3  # turns a chain of "it" questions is followed back through


@dataclass(frozen=True)
class Antecedents:
    """What the pronouns of a follow-up stand for: "he"/"his", "it"/"that law", "they"."""

    person: str | None = None
    thing: str | None = None
    group: str | None = None  # a plural noun phrase: "North Korean troops"


def antecedents(
    turns: Sequence[tuple[str, str]], question: str = "", look_back: int = LOOK_BACK
) -> Antecedents:
    """What the pronouns of ``question`` stand for, after ``turns`` (``_antecedents``; read
    once per conversation and question: the rewriting of a chain asks for the same turns
    again)."""
    return _antecedents(tuple((q, a) for q, a in turns), question, look_back)


@functools.lru_cache(maxsize=256)
def _antecedents(
    turns: tuple[tuple[str, str], ...], question: str, look_back: int
) -> Antecedents:
    """The person and the thing the last turn was about, for ``question``, read off spaCy's
    parse of the turn's question and answer (an abstention's answer counts for nothing).
    "he" is the person the question named, or the one its answer named when it asked who.
    "it" / "that law" is what the last question was itself about (``_topic``: "the August
    2025 order" of "What does the August 2025 order do?"), or, when that question itself said
    "it", what the turn before was about; when it asked for the thing ("Which law …?"), the
    answer's subject or verbless lead; else the first law, organisation or work named.
    "they" is the first plural noun phrase of the last question, else of its answer."""
    from qa.ingest.linguistics import nlp
    from qa.retrieval.analysis import AGENT, OFFICE, PERSON, analyse

    last_q, last_a = (_strip_markers(t) for t in turns[-1])
    if _ABSTAINED.match(last_a):
        last_a = ""
    earlier = None  # what the last question's own pronouns stood for, when it had some
    if look_back > 1 and len(turns) > 1 and needs_context(last_q):
        # A chain ("How many troops did North Korea send?", "Where did they fight?", "What did
        # Putin call them?"): the last question is read as it was resolved in its own turn.
        earlier = _antecedents(turns[:-1], last_q, look_back - 1)
        last_q = resolve(last_q, earlier) or last_q
    a_doc, q_doc = nlp().pipe([last_a, last_q])
    # The person the last question named is the topic ("Who is Keith Kellogg?"); else the
    # first one its answer names. But a question that asked who did something ("Who is the
    # envoy Trump picked?") made its answer the topic: "he" is then the person it named.
    asked = [re.sub(r"['’]s$", "", e.text) for e in q_doc.ents if e.label_ == "PERSON"]
    # (its answer leads with the name, which the small NER may label a company: "Kellogg";
    # a name it labels a person comes first)
    found = [re.sub(r"['’]s$", "", e.text) for e in sorted(
        (e for e in a_doc.ents if e.label_ in ("PERSON", "ORG")),
        key=lambda e: e.label_ != "PERSON")]
    fresh = [p for p in found if not any(p in a or a in p for a in asked)]
    person: str | None
    # "Who did Trump address first?": the person who does the asking's verb stays "he".
    acting = next((re.sub(r"['’]s$", "", e.text) for e in q_doc.ents
                   if e.label_ == "PERSON" and (e.root.dep_ in ("nsubj", "nsubjpass")
                                                and e.root.head.dep_ == "ROOT"
                                                or _WHOM_DID.match(last_q[: e.start_char]))),
                  None)
    if fresh and not acting and analyse(last_q).answer_type in (PERSON, AGENT, OFFICE):
        person = fresh[0]
    else:
        person = asked[0] if asked else None
    named = None
    for doc in (q_doc, a_doc):
        for ent in doc.ents:
            text = re.sub(r"['’]s$", "", ent.text)
            if ent.label_ == "PERSON" and person is None:
                person = text
            elif ent.label_ in _THINGS and named is None:
                named = text
    lead = None
    if len(a_doc) and not any(t.pos_ in ("VERB", "AUX") for t in next(a_doc.sents)):
        lead = next(a_doc.sents).text.strip(" .")  # the answer's verbless lead: "CAATSA."
    # "Which law …?" asked for the thing: its answer names it. Else the question named it.
    asked_for = any(t.lower_ in ("what", "which") and t.i + 1 < len(q_doc)
                    and q_doc[t.i + 1].pos_ in ("NOUN", "PROPN", "ADJ") for t in q_doc)
    # "it" is the source when the follow-up asks what it says or when it was published, or
    # when the last question asked who wrote or published one ("Who wrote the outlook?").
    source_first = bool(_IT_SAYS.search(question) or _IT_PUBLISHED.search(question)
                        or any(t.dep_ == "ROOT" and t.lemma_.lower() in _PUBLISHING for t in q_doc))
    if earlier is not None and _leans_back(q_doc):  # it still says "it": the turn before's
        topic = earlier.thing
    else:
        topic = _topic(q_doc, source_first)
    if asked_for and not source_first:
        # The answer names the thing asked for ("Which law …?" "CAATSA."), unless what it is
        # about is no thing of that kind ("What report …?" answered by what its author must
        # do): then the question's own phrase for it is what "it" stands for.
        said = _topic(a_doc) or lead
        wanted, head = _asked_phrase(q_doc)  # (a bare "the law" says less than any answer)
        thing = said if said and (wanted is None or wanted == f"the {head}"
                                  or _fits(f"the {head}", said)) else (wanted or said or topic)
    else:
        thing = topic or _topic(a_doc) or lead
    group = _group(q_doc) or _group(a_doc)
    return Antecedents(person, thing or named, group)


def _asked_phrase(doc: Any) -> tuple[str | None, str]:
    """The noun phrase a "what/which NOUN" question asks for, as "the NOUN …" (its head's
    words: "the report on elections" of "What report on elections does the law require?"),
    and its head noun."""
    for t in doc:
        if t.lower_ in ("what", "which") and t.dep_ == "det" and t.head.i > t.i \
                and t.head.pos_ in ("NOUN", "PROPN"):
            head = t.head
            words = doc[t.i + 1 : head.right_edge.i + 1].text.strip(" ,;:?")
            return (f"the {words}" if words else None), head.lower_
    return None, ""


def _group(doc: Any) -> str | None:
    """The first plural noun phrase that is not a wh-phrase or a pronoun, without its
    quantifier ("North Korean troops" of "How many North Korean troops did …")."""
    for chunk in doc.noun_chunks:
        root = chunk.root
        if root.tag_ not in ("NNS", "NNPS") or root.pos_ == "PRON":
            continue
        words = [t for t in chunk if not (t.tag_.startswith("W") or t.pos_ in ("DET", "NUM")
                                           or t.lower_ in _QUANTIFIERS)]
        if words and words[0].i <= root.i:
            return str(doc[words[0].i : root.i + 1].text)
    return None


_QUANTIFIERS = frozenset({"many", "much", "few", "several", "some", "all", "more", "most"})


def _topic(doc: Any, source_first: bool = False) -> str | None:
    """What "it" can stand for in a sentence: its subject (or the noun phrase a verbless
    answer is), else its object, that is one thing (not plural), not a wh-phrase, a pronoun,
    a person, an office ("the president") or a date, and not a source that only frames the
    question ("How does the order define Russian oil?" is about the oil), unless nothing else
    is there or ``source_first`` (the follow-up asks what "it" says: "Did it say …?")."""
    from qa.retrieval.analysis import SOURCE_NOUNS

    people = _people_nouns()

    def fits(chunk: Any) -> bool:
        root = chunk.root
        return (root.pos_ != "PRON" and root.ent_type_ not in ("PERSON", "DATE", "TIME")
                and root.tag_ not in ("NNS", "NNPS") and root.lemma_.lower() not in people
                and not any(t.tag_.startswith("W") for t in chunk))

    chunks = [c for c in doc.noun_chunks if fits(c)]
    for framing in ((True, False) if source_first else (False, True)):
        for deps in (("ROOT", "nsubj", "nsubjpass"), ("dobj", "attr"), ("pobj",)):
            for chunk in chunks:
                if chunk.root.dep_ in deps and (
                        chunk.root.lemma_.lower() in SOURCE_NOUNS) == framing:
                    return _with_entity(doc, chunk)
    # An acronym the small tagger took for another word class ("What is CAATSA?")
    acronym = next((t for t in doc if t.dep_ in ("nsubj", "nsubjpass", "dobj", "attr", "pobj")
                    and t.is_upper and len(t) > 1), None)
    return str(acronym.text) if acronym is not None else None


@functools.cache
def _people_nouns() -> frozenset[str]:
    """The type nouns of people and offices ("official", "president"): never an "it"."""
    from qa.retrieval.analysis import NAMING_TYPE_NOUNS, OFFICE, PERSON, TYPE_NOUNS

    return frozenset(n for n, kind in {**TYPE_NOUNS, **NAMING_TYPE_NOUNS}.items()
                     if kind in (PERSON, OFFICE))


def _with_entity(doc: Any, chunk: Any) -> str:
    """The noun phrase, stretched over the named entity its head belongs to ("the Trade Act" ->
    "the Trade Act of 1974"); a verbless answer's noun phrase with all its modifiers
    ("Executive Order 14066 of March 8, 2022", not "Executive Order")."""
    root = chunk.root
    if root.dep_ == "ROOT":  # a verbless answer: its whole phrase, up to a clause of its own
        end = next((t.i for t in root.subtree
                    if t.i > root.i and t.pos_ in ("VERB", "AUX", "SCONJ")), root.right_edge.i + 1)
        return str(doc[root.left_edge.i : end].text).strip(" ,;:.")
    ent = next((e for e in doc.ents if e.start <= root.i < e.end), None)
    if ent is None:
        return str(chunk.text)
    return str(doc[min(chunk.start, ent.start) : max(chunk.end, ent.end)].text)


def _leans_back(doc: Any) -> bool:
    """The sentence's subject or object is "it", "that" or "that law": its topic is an earlier
    turn's."""
    back = ("it", "that", "this")
    deps = ("nsubj", "nsubjpass", "dobj")
    return any((t.dep_ in deps and t.lower_ in back)
               or (t.dep_ == "det" and t.lower_ in back[1:] and t.head.dep_ in deps)
               for t in doc)


def condense(
    question: str, history: list[tuple[str, str]],
    found: Antecedents | None = None,
) -> str:
    """A self-contained query: "he"/"his" become the person of the last turn, "it"/"that law"
    the thing it was about (entities from the parse, or ``found`` when already read), and the
    topic of the last question is carried over when the new one still leans on it."""
    if not history or not needs_context(question):
        return question
    query = _substituted(question, found or antecedents(history, question))
    if _stands_alone(query, question) and not _PLURAL.search(question):
        return query
    topic = [w for w in re.findall(r"[\w’'-]+", standalone(history))
             if w.lower() not in _QUESTION_WORDS]
    return f"{query} ({' '.join(dict.fromkeys(topic[:10]))})"


def standalone(turns: list[tuple[str, str]], look_back: int = LOOK_BACK) -> str:
    """The last turn's question as it was read in its turn: a follow-up ("Where did they
    fight?") with what it leaned on carried over, so a chain of follow-ups keeps the topic
    the first of them set ("How many troops did North Korea send to Russia?")."""
    question = _strip_markers(turns[-1][0])
    if look_back <= 1 or len(turns) < 2 or not needs_context(question):
        return question
    return _self_contained(question, turns[:-1], antecedents(turns[:-1], question, look_back - 1))


def _self_contained(question: str, turns: list[tuple[str, str]], found: Antecedents) -> str:
    """The follow-up with its pronouns resolved when that makes it stand alone ("Who replaced
    Sergei Shoigu?"), else with the last turn's topic carried over; "they" always gets the
    topic too ("the troops" says less than the turn did)."""
    resolved = resolve(question, found)
    return resolved if resolved and not _PLURAL.search(question) else condense(
        question, turns, found)


def resolve(question: str, found: Antecedents) -> str | None:
    """The follow-up with its pronouns replaced by their antecedents, when that alone makes it
    self-contained ("Who replaced him?" -> "Who replaced Sergei Shoigu?"), else None."""
    resolved = _substituted(question, found)
    return resolved if _stands_alone(resolved, question) else None


def _substituted(question: str, found: Antecedents) -> str:
    person, thing, group = found.person, found.thing, found.group
    query = question
    if group and _PLURAL.search(query):
        query = _THEY.sub(group, _THEIR.sub(f"{group}'" if group.endswith("s") else f"{group}'s",
                                            query))
    if person and (_PERSONAL.search(query) or _POSSESSIVE.search(query)):
        query = _POSSESSIVE.sub(f"{person}'s", _PERSONAL.sub(person, query))
    if thing and _IT.search(query):
        query = _IT.sub(lambda m: thing if _fits(m.group(0), thing) else m.group(0), query)
    its = _ITS.search(question)
    # "its" after a name of the question's own is that name's ("Can Ukraine get all its
    # territory back?"); only a bare "its" leans on the last turn ("What about its inflation?").
    if thing and its and not _NAMED_BEFORE.search(question, 0, its.start()):
        query = _ITS.sub(f"{thing}'s", query)
    return query


def _fits(phrase: str, thing: str) -> bool:
    """Whether ``thing`` can be what ``phrase`` ("it", "the order", "that law") refers to: a
    phrase with a noun needs a thing of that kind ("Section 2" is no "order"; "CAATSA" or
    "the Trade Act" can be "that law")."""
    noun = phrase.split()[-1].lower()
    if noun in ("it", "that", "this"):
        return True
    low = thing.lower()
    named = any(is_acronym(w) for w in thing.split())  # "the 2017 CAATSA"
    return noun in low or (noun in ("law", "act") and (named or " act" in f" {low}"))


def _stands_alone(query: str, question: str) -> bool:
    return query != question and not _ANAPHORA.search(query) and not _ELLIPTIC_START.search(query)


def _strip_markers(text: str) -> str:
    return strip_markers(text)


# Capitals and seats of government stand for their countries ("Moscow" for Russia); the
# retrieval query names both, since documents usually name the country.
METONYMS = {
    "moscow": "Russia", "kremlin": "Russia", "washington": "the U.S.", "kyiv": "Ukraine",
    "kiev": "Ukraine", "seoul": "South Korea", "pyongyang": "North Korea", "beijing": "China",
    "tokyo": "Japan", "brussels": "the EU", "america": "the U.S.", "american": "U.S.",
    "americans": "the U.S.", "united states": "the U.S.",
}


def expand_aliases(query: str) -> str:
    """Append the country a capital stands for, once each."""
    low = query.lower()
    extra = []
    for alias, country in METONYMS.items():
        if re.search(rf"\b{alias}\b", low) and country.lower() not in low and country not in extra:
            extra.append(country)
    return f"{query} ({', '.join(extra)})" if extra else query


def without_symbols(text: str) -> str:
    """The text minus emoji and other pictographs: the model reads them as unknown tokens,
    which only dilute the query's meaning. Text made only of them is kept as it is."""
    kept = " ".join(
        "".join(" " if unicodedata.category(ch) == "So" else ch for ch in text).split()
    )
    return kept or text


def prepare(question: Any, history: Any, max_chars: int) -> PreparedQuestion:
    text, notice = clean_question(question, max_chars)
    turns = check_history(history)
    leans = bool(turns) and needs_context(text)
    plain = without_symbols(text)
    found = antecedents(turns, text) if leans else Antecedents()
    resolved = resolve(plain, found) if leans else None
    return PreparedQuestion(
        question=text,
        query=expand_aliases(_self_contained(plain, turns, found) if leans else plain),
        injected=looks_injected(text),
        notice=notice,
        previous=without_symbols(_strip_markers(turns[-1][0])) if leans else None,
        resolved=resolved,
    )


_WHAT_ABOUT = re.compile(r"^\W*(?:and\s+|but\s+)?(?:what|how)\s+about\b", re.IGNORECASE)


def analysis_of(prepared: PreparedQuestion) -> QuestionAnalysis:
    """The parse of the question, what the reader checks candidates against. An elliptical
    follow-up ("And if he vetoes it?", "What about the energy sector?") has no answer type of
    its own: it asks for what the question before it asked for ("how long …"), so it takes
    that question's answer type, focus and counted noun."""
    from qa.retrieval.analysis import analyse

    # "Who replaced him?" is read as "Who replaced Sergei Shoigu?": the antecedent is a word
    # of the question (a constraint the quote meets, and never the answer itself).
    analysis = analyse(without_symbols(prepared.resolved or prepared.question))
    if prepared.previous is None or analysis.labels:
        return analysis
    if analysis.wh is not None and not _WHAT_ABOUT.match(prepared.question):
        return analysis
    before = analyse(prepared.previous)
    if not before.labels:
        return analysis
    return replace(analysis, answer_type=before.answer_type, focus=before.focus,
                   counted=before.counted)
