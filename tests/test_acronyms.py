"""Acronyms and the names they stand for: one thing, said two ways, is asked, not new."""

from __future__ import annotations

from qa.answer.short import span_candidates
from qa.retrieval.acronyms import aliases, covered, expansions
from qa.retrieval.analysis import analyse


def test_expansions_read_the_initials_skipping_joining_words() -> None:
    text = ("The Bureau of Industry and Security and the Democratic People's Republic of Korea "
            "met the United States.")
    assert expansions(text, "BIS") == ("Bureau of Industry and Security",)
    assert expansions(text, "DPRK") == ("Democratic People's Republic of Korea",)
    assert expansions(text, "U.S.") == ("United States",)
    assert expansions(text, "UN") == ()  # no "United Nations" here
    assert expansions("United, States differ", "US") == ()  # a comma breaks a name
    # an acronym inside the name gives all its letters
    assert expansions("Do the UN Security Council resolutions bar it?", "UNSC") == (
        "UN Security Council",)
    assert expansions("the UN Security Council", "USC") == ()


def test_aliases_and_covered_go_both_ways() -> None:
    sentence = "The United States and Russia agreed; the NDAA requires a report."
    question = "What did the U.S. and the National Defense Authorization Act say?"
    assert {"unit", "state", "ndaa"} <= aliases(question, sentence)
    assert covered(question, sentence) == frozenset(
        {"u.s", "national", "defense", "authorization", "act"})
    assert covered("What did the US say?", "The U.S. said so.") == frozenset({"us"})
    assert aliases("What did Russia say?", sentence) == frozenset()


def test_a_name_the_question_abbreviates_is_no_short_answer() -> None:
    text = ("The United States and Russia have agreed to ensure safe navigation and eliminate "
            "the use of force in the Black Sea.")
    entities = (("GPE", 0, 17), ("GPE", 22, 28), ("LOC", 98, 111))
    spans = {text[s.start : s.end]
             for s in span_candidates(analyse("What did the U.S. and Russia agree to do?"),
                                      text, entities)}
    assert "The United States and Russia" not in spans and "The United States" not in spans
    assert any("eliminate the use of force" in s for s in spans)
