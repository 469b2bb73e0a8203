"""The reader's parts with the real spaCy pipeline and the fitted models: question analysis,
short-answer spans, the fitting scripts' discipline, and answers through the public API."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import qa
from evals import fit_reader, fit_short
from evals.fitting import listwise, smoothed
from qa.answer.short import SPAN_FEATURES, load_short_model, short_answer, span_candidates
from qa.retrieval.analysis import (
    AGENT,
    DATE,
    DESCRIPTION,
    DURATION,
    LAW,
    LIST,
    MEASURE,
    MONEY,
    NUMBER,
    OFFICE,
    ORG,
    PERCENT,
    PERSON,
    PLACE,
    QUANTITY,
    YESNO,
    analyse,
)


@pytest.mark.parametrize(
    ("question", "answer_type", "focus"),
    [
        ("In which city did the delegations meet?", PLACE, "city"),  # parser misses the det arc
        ("Which Indian minister answered the letter?", OFFICE, "minister"),  # past an adjective
        ("Since what year have the two states been partners?", DATE, "year"),
        ("What growth rate did the bank forecast?", PERCENT, "rate"),
        ("How many soldiers crossed the border?", NUMBER, "soldier"),
        ("Which news outlet reported the freeze?", ORG, "outlet"),  # a type noun that names
        ("Which analyst wrote the brief?", PERSON, "analyst"),
        ("Which guy wrote the brief?", PERSON, "guy"),  # as a speaker says "person"
        ("Which post did the general take after the war?", OFFICE, "post"),
        ("What was the voter turnout in the regional elections?", PERCENT, "turnout"),
        ("What is the island's total population?", NUMBER, "population"),
        ("Which section of the statute authorises the duty?", LAW, "section"),
        ("What did the minister describe?", DESCRIPTION, None),
        ("What is the Comprehensive Strategic Partnership Treaty?", DESCRIPTION, "treaty"),
        ("Which scenarios does the report foresee?", LIST, "scenario"),
        ("If the talks fail, what scenarios does the author lay out?", LIST, "scenario"),
        ("What are the conditions Moscow insists on?", LIST, "condition"),
        ("How soon after the vote is the first report due?", DURATION, "soon"),
        ("How large is the duty on imported steel?", MEASURE, "large"),
        ("For how much longer can the economy hold out?", DURATION, "long"),
        ("By how much were exports expected to grow?", MEASURE, None),  # a share, a sum, …
        ("How much money did the fund receive?", MONEY, "money"),
        ("How much oil does the refinery process?", QUANTITY, "oil"),
        # a relative "that" asks nothing; "both" in a counting question compares nothing
        ("Can you name the countries that formed the team?", LIST, None),
        ("Does the order create any rights that private parties can enforce?", YESNO, None),
        ("For how many days is the duty paused after both chambers vote?", NUMBER, "day"),
    ],
)
def test_question_analysis_reads_type_and_focus_from_the_parse(
    question: str, answer_type: str, focus: str
) -> None:
    a = analyse(question)
    assert (a.answer_type, a.focus) == (answer_type, focus)


def test_a_type_noun_that_names_its_answer_is_still_asked_about() -> None:
    """"Which committee …" wants an organisation, and the answer says "committee" ("the
    Committee on Armed Services"): the noun types the answer and stays a word to cover,
    where "which country" is answered by "Russia", which never says "country"."""
    committee = analyse("Which committee receives the report?")
    assert committee.answer_type == ORG and "committee" in committee.nouns
    assert not committee.focus_is_type
    country = analyse("Which country receives the report?")
    assert country.answer_type == PLACE and "country" not in country.nouns


def test_who_questions_accept_offices_as_well_as_names() -> None:
    """"Who must report?" is answered by "the Secretary of Defense" as often as by a name."""
    a = analyse("Who has to report to the committee?")
    assert a.answer_type == AGENT and {"PERSON", "ORG"} <= a.labels


def test_a_word_the_lemma_changes_is_also_matched_as_written() -> None:
    """spaCy's lemma of "lives" is "life" and of "media" "medium": the passages say "lives",
    so the question's count is met by "lost 38,000 lives", and an abstention names the word
    as the question wrote it."""
    from qa.answer.extractive import _as_asked
    from qa.answer.features import _counts

    a = analyse("How many lives did the canal cost to build?")
    assert a.counted == "life" and dict(a.written)["life"] == "lives"
    assert _counts("We lost 38,000 lives in the building of the canal.", "lives")
    from qa.answer.features import FEATURES, SentenceView, features, question_pool

    text = "We lost 38,000 lives in the building of the canal."
    view = SentenceView(text=text, vector=np.zeros(3), entities=(("CARDINAL", 8, 14),),
                        context="", rank=0, fused=1.0, chunk_cosine=0.5, first_in_chunk=True,
                        prose=True)
    pool = question_pool(a, {"canal": 1.0}, {"canal"}, text.lower(), frozenset())
    assert features(a, pool, view, np.zeros(3))[FEATURES.index("counted")] == 1.0
    media = analyse("When is the report on Kremlin-controlled media outlets due?")
    assert _as_asked(dict(media.written).get("medium", "medium"), media.question) == "media"


def test_an_office_is_filled_by_a_person_or_an_office_never_a_country() -> None:
    """"Which minister …" is not answered "Russia", though "Who imposed …" may be."""
    office = analyse("Which Indian minister answered the letter?")
    assert {"PERSON", "ORG"} <= office.labels and not {"GPE", "NORP"} & office.labels
    assert "GPE" in analyse("Who imposed the duty?").labels


def test_a_time_measure_wants_a_date_and_a_size_wants_a_figure() -> None:
    """"How soon …" is answered by "120 days" (a DATE to spaCy), "how large …" by "25 percent"
    or "five", never by a date."""
    soon, large = analyse("How soon is the report due?"), analyse("How large is the duty?")
    assert "DATE" in soon.labels and "CARDINAL" not in soon.labels
    assert {"PERCENT", "MONEY", "CARDINAL"} <= large.labels and "DATE" not in large.labels


def test_a_rival_of_a_named_year_marks_the_span_beside_it() -> None:
    text = "In 2023, the growth rate was 3.6%, and it is expected to reach 3.9% in 2024."
    ents = tuple((label, text.index(word), text.index(word) + len(word)) for label, word in (
        ("DATE", "2023"), ("PERCENT", "3.6%"), ("PERCENT", "3.9%"), ("DATE", "2024")))
    a = analyse("What growth rate is expected in 2024?")
    rows = {text[s.start : s.end]: dict(zip(SPAN_FEATURES, s.features, strict=True))
            for s in span_candidates(a, text, ents)}
    assert rows["3.6%"]["rival_closer"] == 1.0  # "2023" is nearer to it than "2024"
    assert rows["3.9%"]["rival_closer"] == 0.0
    assert rows["3.9%"]["constraint_near"] > rows["3.6%"]["constraint_near"]


def test_the_listwise_fit_learns_which_row_of_a_group_wins() -> None:
    """Each group's target row has the larger first feature; the second feature is noise that
    separates the groups, not the rows within a group."""
    rng = np.random.default_rng(0)
    groups = []
    for _ in range(40):
        x = rng.normal(size=(5, 2))
        x[:, 1] += rng.normal() * 3  # shared by the whole group
        target = np.zeros(5)
        target[int(np.argmax(x[:, 0]))] = 1.0
        groups.append((x, target))
    w = listwise(groups, c=10.0)
    assert w[0] > 0 and abs(w[1]) < 0.25 * w[0]
    assert all(int(np.argmax(x @ w)) == int(np.argmax(t)) for x, t in groups)


SENTENCE = "In October 2024, about 11,000 soldiers crossed the border near Kursk, officials said."
ENTITIES = (("DATE", 3, 15), ("CARDINAL", 23, 29), ("GPE", 67, 72))


def test_span_candidates_never_repeat_the_question() -> None:
    a = analyse("How many soldiers crossed the border in October 2024?")
    spans = span_candidates(a, SENTENCE, ENTITIES)
    assert spans and all(len(s.features) == len(SPAN_FEATURES) for s in spans)
    texts = {SENTENCE[s.start : s.end] for s in spans}
    assert "11,000" in texts
    assert "October 2024" not in texts and "the border" not in texts  # all asked already


def test_short_answer_is_the_typed_span_verbatim() -> None:
    a = analyse("How many soldiers crossed the border in October 2024?")
    short = short_answer(a, SENTENCE, ENTITIES)
    assert short is not None and short in SENTENCE and "11,000" in short
    assert len(short) < len(SENTENCE) / 2


def test_short_answer_drops_an_enumeration_label() -> None:
    text = "(VI) Zorsecurity, also known as Esage Lab, in Moscow."
    a = analyse("What other name does Zorsecurity go by?")
    spans = {text[s.start : s.end] for s in span_candidates(a, text, (("ORG", 5, 16),))}
    assert not any(s.startswith(("(", "VI)")) for s in spans)
    assert "Esage Lab" in spans


def test_a_framing_preposition_leaves_its_object_to_answer() -> None:
    """"in Riyadh" is no candidate, "Riyadh" is; a preposition that carries the answer's
    sense keeps its phrase ("via Poland")."""
    text = "The shells reached Kyiv via Poland after talks in Riyadh with the delegation."
    a = analyse("How did the shells reach Kyiv?")
    spans = {text[s.start : s.end] for s in span_candidates(a, text, (
        ("GPE", 19, 23), ("GPE", 28, 34), ("GPE", 47, 53)))}
    assert "Riyadh" in spans and "in Riyadh" not in spans
    assert "via Poland" in spans and "Poland" in spans


def test_a_name_the_ner_cut_into_pieces_is_one_candidate() -> None:
    """"Countering America's" + "Adversaries" + "Sanctions Act" are one title-case name."""
    text = ("Specifically, the 2017 Countering America's Adversaries Through Sanctions Act "
            "requires a report.")
    ents = tuple((label, text.index(name), text.index(name) + len(name)) for label, name in (
        ("DATE", "2017"), ("ORG", "Countering America's"), ("NAME", "Adversaries"),
        ("NAME", "Sanctions Act")))
    a = analyse("Which law requires a report?")
    spans = {text[s.start : s.end] for s in span_candidates(a, text, ents)}
    assert "Countering America's Adversaries Through Sanctions Act" in spans
    assert "Specifically" not in " ".join(s for s in spans if "Adversaries" in s)


def test_a_title_before_a_name_is_no_place() -> None:
    """An unlabelled proper noun right before a person's name ("President" of "President
    Ana Ruiz") is the person's title: a place question's type is met by the place, not by
    the span that holds the title."""
    from qa.answer.short import SPAN_FEATURES

    text = "President Ana Ruiz met the delegation in Lisbon."
    a = analyse("In which city did the delegation meet?")
    spans = {text[s.start : s.end]: dict(zip(SPAN_FEATURES, s.features, strict=True))
             for s in span_candidates(a, text, (("NAME", 0, 9), ("PERSON", 10, 18),
                                                ("GPE", 41, 47)))}
    assert spans["Lisbon"]["type_match"] == 1.0
    assert spans["President Ana Ruiz"]["type_match"] == 0.0


def test_span_candidates_are_whole_phrases() -> None:
    """A trailing possessive is trimmed ("the Party’s victory" -> "the Party"), a span that
    opens a bracket it does not close is no candidate, a quotation is one."""
    text = ("The ruling Unity Party’s victory (Position D) came after the report entitled "
            "“Assessing Regional Votes” was published.")
    a = analyse("Which party won the elections?")
    spans = {text[s.start : s.end] for s in span_candidates(a, text, (("ORG", 11, 24),))}
    assert "Unity Party" in spans and "Unity Party’s" not in spans
    assert not any(s.count("(") != s.count(")") for s in spans)
    assert "Assessing Regional Votes" in spans


def test_a_range_is_one_candidate_and_no_candidate_is_half_a_phrase() -> None:
    """"between $7.7 and $14.4 billion" is one figure; no span ends on "and" or opens a quote
    it does not close ('the flag" effect')."""
    text = 'The deals earned between $7.7 and $14.4 billion, a "rally around the flag" effect.'
    ents = (("MONEY", text.index("$7.7"), text.index("$7.7") + 4),
            ("MONEY", text.index("$14.4"), text.index("billion") + 7))
    spans = {text[s.start : s.end] for s in span_candidates(analyse("How much did the deals "
                                                                    "earn?"), text, ents)}
    assert "between $7.7 and $14.4 billion" in spans
    assert not any(s.endswith((" and", " the")) for s in spans)
    assert not any(s.count('"') % 2 for s in spans)
    text = "The Committee on Banking, Housing, and Urban Affairs may request it."
    spans = {text[s.start : s.end] for s in span_candidates(analyse("Who may request it?"),
                                                             text, ())}
    assert "Urban Affairs" in spans and "Housing, and Urban Affairs" not in spans  # a conjunct
    text = "(4) Russia occupies two regions; (B) it lasted (3) years."
    ents = (("CARDINAL", 1, 2), ("CARDINAL", 48, 49))
    spans = {text[s.start : s.end] for s in span_candidates(analyse("How long did it last?"),
                                                             text, ents)}
    assert "4" not in spans and "B" not in spans and "3" in spans  # labels are no figures
    text = "The replacement of Defense Minister Sergei Shoigu with Andrei Belousov was news."
    spans = {text[s.start : s.end] for s in span_candidates(analyse("Who was replaced?"), text,
                                                             ())}
    assert "Minister" not in spans and "Defense Minister Sergei Shoigu" in spans  # a name's piece


def test_a_figure_is_a_candidate_with_its_bounds() -> None:
    """"three or more", "over 40,000", "180 days after August 2, 2017": the words that bound
    a figure's reach make a candidate with it (a closed class of English)."""
    text = ("The President shall impose three or more sanctions on over 40,000 firms, starting "
            "180 days after August 2, 2017.")

    def at(phrase: str, label: str) -> tuple[str, int, int]:
        return label, text.index(phrase), text.index(phrase) + len(phrase)

    ents = (at("three", "CARDINAL"), at("40,000", "CARDINAL"), at("180 days", "DATE"),
            at("August 2, 2017", "DATE"))
    spans = {text[c.start : c.end] for c in span_candidates(
        analyse("How many sanctions must the President impose?"), text, ents)}
    assert {"three or more", "over 40,000", "180 days after August 2, 2017"} <= spans


def _feature(question: str, text: str, entities: tuple[tuple[str, int, int], ...],
             span: str, name: str) -> float:
    rows = {text[s.start : s.end]: s.features for s in span_candidates(analyse(question), text,
                                                                         entities)}
    return rows[span][SPAN_FEATURES.index(name)]


def test_span_features_read_the_slot_the_question_asks_about() -> None:
    """The wh-phrase's slot ("Which outlet reported …": the subject) and plurality ("which
    companies": a coordination) are read off the two parses."""
    text = "Reuters reported that the Kremlin would accept a freeze of the front."
    assert _feature("Which outlet reported the freeze?", text, (("ORG", 0, 7),),
                    "Reuters", "same_slot") == 1.0
    assert _feature("Which outlet reported the freeze?", text, (("ORG", 0, 7),),
                    "a freeze of the front", "same_slot") == 0.0
    text = "Firms such as Samsung, Hyundai, and LG suffered in the market."
    ents = (("ORG", 14, 21), ("ORG", 23, 30), ("ORG", 36, 38))
    assert _feature("Which companies suffered in the market?", text, ents,
                    "Samsung, Hyundai, and LG", "plural_coordinated") == 1.0
    assert _feature("Which company suffered in the market?", text, ents,
                    "Samsung, Hyundai, and LG", "plural_coordinated") == 0.0


def test_span_features_count_items_and_mark_modifiers_and_bounds() -> None:
    """"Which two states" wants a span of two coordinated items; a head with a phrase after
    it ("the channel in Asia") and a span opening with a bound ("no later than 180 days") are
    marked, so the fitted model can prefer the bare phrase; a typed entity is marked apart
    from a phrase that merely holds one."""
    text = "The properties located in Maryland and New York were ordered vacated."
    ents = (("GPE", 26, 34), ("GPE", 39, 47))
    assert analyse("In which two states were the properties?").wh_count == 2
    assert analyse("Which states held the properties?").wh_count == 0
    assert _feature("In which two states were the properties?", text, ents,
                    "Maryland and New York", "count_met") == 1.0
    assert _feature("In which two states were the properties?", text, ents,
                    "Maryland", "count_met") == 0.0
    text = "It urged activating channels, such as the Korea-Japan channel in Northeast Asia."
    ents = (("LOC", text.index("Northeast"), len(text) - 1),)
    question = "Which minilateral channel should be activated?"
    assert _feature(question, text, ents, "the Korea-Japan channel in Northeast Asia",
                    "post_modified") == 1.0
    assert _feature(question, text, ents, "the Korea-Japan channel", "post_modified") == 0.0
    text = "Congress may act at least 30 days after the report."
    at = text.index("30")
    ents = (("DATE", at, at + 7),)
    question = "How long after the report may Congress act?"
    assert _feature(question, text, ents, "at least 30 days", "opens_bound") == 1.0
    assert _feature(question, text, ents, "30 days", "opens_bound") == 0.0
    assert _feature(question, text, ents, "30 days", "typed_entity") == 1.0


def test_a_false_premise_is_corrected_by_the_entity_in_its_place() -> None:
    """"Why did Bloomberg report …" where the passage says Reuters: the correction is the
    ORG the passage holds, never the premise's own words or an entity of another label."""
    from qa.answer.short import correction

    text = "Regarding the talks, Reuters reported in March 2024 that Moscow might agree."
    ents = (("ORG", 21, 28), ("DATE", 41, 51), ("GPE", 57, 63))
    a = analyse("Why did Bloomberg report that Moscow might agree?")
    assert correction(a, text, ents, "ORG") == "Reuters"
    assert correction(a, text, ents, "PERSON") is None
    assert correction(a, text, ents, "GPE") is None  # "Moscow" is the question's own
    # spaCy labels "30 calendar days" and "2017" both DATE: a stretch corrects a stretch only
    a = analyse("Why does the law give Congress 90 days to review it?")
    text = "In 2017 the law gave Congress 30 calendar days to review it."
    at = text.index("30 calendar days")
    ents = (("DATE", 3, 7), ("DATE", at, at + 16))
    assert correction(a, text, ents, "DATE", "90 days") == "30 calendar days"
    assert correction(a, text, ents, "DATE", "1999") == "2017"
    assert correction(a, text, ents[:1], "DATE", "ten years") is None
    # a year is put right by a year, not by a day of another
    a = analyse("What did India pay for Russian oil in 2024?")
    text = "The duty takes effect on August 27, after India bought oil in 2023."
    ents = (("DATE", text.index("August 27"), text.index("August 27") + 9),
            ("DATE", text.index("2023"), text.index("2023") + 4))
    assert correction(a, text, ents, "DATE", "2024") == "2023"
    assert correction(a, text, ents[:1], "DATE", "2024") is None


def test_a_country_is_mentioned_by_any_of_its_names() -> None:
    """"Washington" and "the U.S." are mentioned by "the United States" (so no false premise
    is "corrected" by the very country it names), and a capital by its country."""
    from qa.answer.features import mentions

    text = "the united states and russia have agreed to ensure safe navigation."
    assert mentions(text, "Washington") and mentions(text, "the U.S.")
    assert mentions(text, "Moscow") and not mentions(text, "Beijing")
    assert not mentions("russia and china agreed.", "Washington")


@pytest.mark.parametrize(("question", "wanted"), [
    ("Who signed the order?", True),
    ("How many soldiers crossed the border?", True),
    ("What is the name of the monitoring group?", True),
    ("What is the unemployment rate?", True),
    ("Why did the council veto the renewal?", False),  # a reason: the quote says it
    ("How did the Kremlin respond?", False),  # a manner
    ("Who is Keith Kellogg?", False),  # describe what the question names
    ("Explain the grain corridor.", False),
])
def test_why_how_and_describe_questions_get_no_short_answer(question: str, wanted: bool) -> None:
    """The API contract: ``Answer.short`` is None for why-, how- and describe-questions."""
    from qa.answer.short import wants_short

    a = analyse(question)
    assert wants_short(a) is wanted
    if not wanted:
        assert short_answer(a, SENTENCE, ENTITIES) is None


def test_the_answer_model_knows_whether_a_question_asks_for_a_detail(settings: object) -> None:
    """A why- or describe-question sets ``open`` on every sentence it weighs, a question for a
    name does not; the answer-or-abstain model reads it (detail questions are the ones the
    sources more often lack)."""
    from qa.answer.scorer import ANSWER_CONTEXT

    why = qa.reader_candidates("Why might Russia reject a weak ceasefire?", settings=settings)
    who = qa.reader_candidates("Who was appointed special envoy?", settings=settings)
    assert why and who
    assert {c.features["open"] for c in why} == {1.0}
    assert {c.features["open"] for c in who} == {0.0}
    assert "open" in ANSWER_CONTEXT


def test_the_fitted_short_model_matches_the_features() -> None:
    model = load_short_model()
    assert model is not None and model.weights.shape == (len(SPAN_FEATURES),)


def test_fitting_scripts_refuse_the_test_split() -> None:
    assert fit_reader.main(["--dataset", "evals/testset.jsonl"]) == 2
    assert fit_short.main(["--dataset", "evals/testset.jsonl"]) == 2


def test_the_abstention_threshold_sits_on_a_plateau_not_a_spike() -> None:
    """One question more or less makes a spike in the raw decision score; the threshold is
    chosen where neighbouring thresholds score well too."""
    raw = [0.5, 0.6, 1.0, 0.6, 0.5, 0.8, 0.85, 0.9, 0.85, 0.8, 0.5]
    scores = smoothed(raw, window=2)
    assert int(np.argmax(raw)) == 2 and int(np.argmax(scores)) == 7
    assert smoothed(raw, window=0) == raw


def test_the_abstention_threshold_is_judged_on_real_questions_not_twins() -> None:
    """Twins only add training rows: a threshold that abstains on every twin but answers every
    real unanswerable question scores no abstentions."""
    real = {"id": "unans-1", "answerable": False, "labels": [0], "rows": [[0.0]]}
    twin = {"id": f"{fit_reader.TWIN_PREFIX}fact-1-year", "answerable": False, "labels": [0],
            "rows": [[0.0]]}
    answerable = {"id": "fact-1", "answerable": True, "labels": [1], "rows": [[0.0]]}
    per_item = [(d, np.asarray([0.9])) for d in (real, twin, answerable)]
    figures = fit_reader._decision_figures(per_item, [0.9, 0.1, 0.9], threshold=0.5)
    assert figures["abstained_unanswerable"] == 0.0 and figures["abstained_twins"] == 1.0
    assert figures["top1_gold_answered"] == 1.0
    weights = fit_reader._twin_weights([real, twin, twin, answerable])
    assert list(weights) == [1.0, 0.5, 0.5, 1.0]  # the twins together weigh one real question


@pytest.mark.slow
def test_answers_lead_with_a_short_span_of_their_first_quote(settings: qa.Settings) -> None:
    answer = qa.ask("Who did Trump name as special envoy for the war?", settings=settings)
    assert not answer.abstained and answer.short is not None
    assert answer.short in answer.citations[0].quote
    assert answer.text.startswith(answer.short)
    assert "Kellogg" in answer.short


@pytest.mark.slow
def test_a_document_fact_leads_with_its_value(tmp_path: Path) -> None:
    """"Who wrote …?" answered from the metadata has the name as its short answer, verbatim
    from the text it cites."""
    from conftest import make_corpus

    corpus = make_corpus(tmp_path / "corpus", {
        "tides.txt": "Tide Notes\n\nBy Edda Marsh\n\nThe spring tide at Port Elwood reaches "
                     "4.2 metres in March.\n",
        "tides.txt.meta.json": '{"title": "Tide Notes", "author": "Edda Marsh"}',
    })
    settings = qa.Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "index")
    answer = qa.ask("Who wrote the tide notes?", settings=settings)
    assert answer.short == "Edda Marsh" == answer.citations[0].quote
    assert answer.text.startswith("“Tide Notes” was written by Edda Marsh")


@pytest.mark.slow
def test_a_false_premise_answer_leads_with_its_correction(tmp_path: Path) -> None:
    """The question takes as given an outlet the sources never name; the answer says which
    one they do name, as its short answer, verbatim from the quote that says so."""
    from conftest import make_corpus

    corpus = make_corpus(tmp_path / "corpus", {
        "tides.txt": "Tide Notes\n\nReuters reported that the spring tide at Port Elwood "
                     "reaches 4.2 metres in March. The harbour master closes the quay then.\n",
    })
    settings = qa.Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "index")
    answer = qa.ask("Why did the BBC say the tide at Port Elwood reaches 4.2 metres in March?",
                    settings=settings)
    assert not answer.abstained and answer.short == "Reuters"
    assert answer.short in answer.citations[0].quote
    assert answer.text.startswith("Reuters, not “BBC”.")
    # the figure that stands in a wrong one's place may sit in the next most probable sentence
    corpus = make_corpus(tmp_path / "corpus2", {
        "levy.txt": "Levy Notes\n\nThe harbour levy at Port Elwood was raised by the town "
                    "council to pay for the new quay. Since then the levy has stood at 12 "
                    "percent of the cargo value.\n",
    })
    settings = qa.Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "index2")
    answer = qa.ask("Why was the harbour levy at Port Elwood raised to 40 percent?",
                    settings=settings)
    assert answer.short == "12 percent", answer.text
    assert "12 percent" in answer.citations[0].quote


def test_a_clause_leads_in_by_a_colon_a_dash_or_breaking_off() -> None:
    from qa.answer.enumerations import leads_in

    assert leads_in("Grants may be made for the following purposes:")
    assert leads_in("The term means—")
    assert leads_in("that contributes to the ability of the Government of Syria to")
    assert not leads_in("No grant may exceed $40,000 in a year.")
    assert not leads_in("(1) to repair sea walls that protect towns;")


@pytest.mark.slow
def test_a_list_question_gets_the_items_of_the_enumeration(tmp_path: Path) -> None:
    """"Several factors explain …" is followed by its items ("Firstly, …", "Next, …"), and
    "… for the following purposes:" by its labelled clauses, not by the next clause of its
    own level ("(b) Limits."): each item its own cited quote, and no short answer."""
    from conftest import make_corpus

    corpus = make_corpus(tmp_path / "corpus", {
        "harbour.txt": "Harbour Report\n\nThe port of Elwood grew quickly in 2024. Several "
                       "factors explain the growth of the port. Firstly, the new quay doubled the "
                       "berths for container ships. Next, the rail link to the capital opened in "
                       "May. Finally, the harbour fees were cut by a third.\n\nThe old "
                       "lighthouse was repainted in June.\n",
        "grants.txt": "Grant Rules\n\n(a) Purposes. Grants may be made for the following "
                      "purposes:\n\n(1) to repair sea walls that protect towns;\n\n(2) to "
                      "dredge channels used by fishing boats; and\n\n(3) to train harbour "
                      "pilots.\n\n(b) Limits. No grant may exceed $40,000 in a year.\n",
        # a lead-in whose dash a conversion dropped
        "levies.txt": "Levy Rules\n\nThe harbour board may raise a levy on ships whose owners "
                      "help the smugglers of Elwood to\n\n(A) hide contraband in the grain "
                      "holds;\n\n(B) forge the manifests of the cargo; or\n\n(C) bribe the "
                      "customs officers at the quay.\n",
    })
    settings = qa.Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "index")
    cases = {
        "Which factors explain the growth of the port of Elwood?":
            ("Firstly, the new quay", "Next, the rail link", "Finally, the harbour fees"),
        "What purposes can grants be made for?":
            ("(1) to repair", "(2) to dredge", "(3) to train"),
        "What acts of help to the smugglers of Elwood can bring a levy on ships?":
            ("(A) hide contraband", "(B) forge the manifests", "(C) bribe the customs"),
    }
    for question, items in cases.items():
        answer = qa.ask(question, settings=settings)
        quotes = [c.quote for c in answer.citations]
        assert not answer.abstained and answer.short is None
        for item in items:
            assert any(q.startswith(item) for q in quotes), (item, quotes)
        assert not any("lighthouse" in q or "(b) Limits" in q for q in quotes)
        for c in answer.citations:
            assert (corpus / c.source).read_text(encoding="utf-8")[c.start : c.end] == c.quote
    # Any question answered by a clause that leads in gets the items it leads into.
    answer = qa.ask("Which ships may the harbour board raise a levy on?", settings=settings)
    quotes = [c.quote for c in answer.citations]
    assert quotes[0].startswith("The harbour board may raise a levy"), quotes
    assert [q[:3] for q in quotes[1:]] == ["(A)", "(B)", "(C)"]


@pytest.mark.slow
def test_questions_about_the_sources_as_a_set(tmp_path: Path) -> None:
    """"Which source is the most recent?" compares the metadata dates and names the newest by
    its title where its text writes it; "Which document says …?" leads with the title of the
    document that says it, cited, as its short answer; a superlative question that also asks
    about something ("Which source first mentions the quay?") is answered from the text."""
    from conftest import make_corpus

    corpus = make_corpus(tmp_path / "corpus", {
        "tides.md": "# Tide Notes\n\nThe spring tide at Port Elwood reaches 4.2 metres.\n",
        "tides.md.meta.json": '{"title": "Tide Notes", "date": "2021-03-02"}',
        "quay.txt": "Quay Survey\n\nThe north quay at Port Elwood was rebuilt with granite.\n",
        "quay.txt.meta.json": '{"title": "Quay Survey", "date": "2024-06-30"}',
        "gulls.txt": "Gull Counts\n\nVolunteers counted 310 gulls on the breakwater.\n",
        "gulls.txt.meta.json": '{"title": "Gull Counts", "date": "2019"}',
    })
    settings = qa.Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "index")

    def check(answer: qa.Answer, source: str, title: str) -> None:
        c = answer.citations[0]
        assert not answer.abstained and answer.short == title == c.quote
        assert c.source == source and answer.text.startswith(f"{title} [1]")
        assert (corpus / source).read_text(encoding="utf-8")[c.start : c.end] == c.quote

    newest = qa.ask("Which source is the most recent?", settings=settings)
    check(newest, "quay.txt", "Quay Survey")
    assert newest.text.index("Tide Notes") < newest.text.index("Gull Counts")  # then in order
    assert "June 30, 2024 (2024-06-30)" in newest.text  # its date, as a reader writes it too
    counted = qa.ask("Which of the three documents is the most recent?", settings=settings)
    check(counted, "quay.txt", "Quay Survey")  # "of the three …", "of my …" ask the same
    check(qa.ask("What is the oldest document?", settings=settings), "gulls.txt", "Gull Counts")
    says = qa.ask("Which of the documents talks about the spring tide?", settings=settings)
    check(says, "tides.md", "Tide Notes")
    assert any("4.2 metres" in c.quote for c in says.citations[1:])
    content = qa.ask("Which source first mentions the granite quay?", settings=settings)
    assert content.citations[0].source == "quay.txt" and "most recent" not in content.text


@pytest.mark.slow
def test_a_cited_document_is_not_the_document_asked_about(settings: qa.Settings) -> None:
    """"When was Executive Order 14024 issued?" names an order the corpus cites, not one of its
    documents: the answer is not a document's own date."""
    answer = qa.ask("When was Executive Order 14024 issued?", settings=settings)
    assert " is dated " not in answer.text
    # ... nor a thing of its own that the outlook mentions; its update is a fact of the brief
    book = qa.ask("When did Keith Kellogg's book come out, going by the Sejong outlook?",
                  settings=settings)
    assert " is dated " not in book.text and "last spring" in book.text
    update = qa.ask("What's the latest update date of the CRS brief on Russia and North Korea?",
                    settings=settings)
    assert " is dated " in update.text


def test_fusion_weighs_each_ranking_by_reciprocal_rank() -> None:
    from qa.retrieval.hybrid import Fusion

    fusion = Fusion(weights={"dense": 1.0, "sentences": 0.0, "lexical": 2.0}, k=1.0)
    scores = fusion.scores({"dense": [("a", 0.9), ("b", 0.8)], "sentences": [("b", 0.9)],
                            "lexical": [("b", 3.0)]})
    assert scores == {"a": 1.0 / 2, "b": 1.0 / 3 + 2.0 / 2}  # the weightless ranking adds nothing


def test_the_fitted_fusion_loads_and_its_fit_refuses_the_test_split() -> None:
    from evals import fit_retrieval
    from qa.retrieval.hybrid import RANKINGS, load_fusion

    fusion = load_fusion()
    assert set(fusion.weights) == set(RANKINGS) and fusion.k > 0
    assert fit_retrieval.main(["--dataset", "evals/testset.jsonl"]) == 2


def test_short_parses_leave_the_shared_pipeline_alone() -> None:
    """The short answer's parse skips NER for itself only: a question analysed in another
    thread at the same moment still gets its entities."""
    import threading

    from qa.answer import short
    from qa.ingest.linguistics import nlp

    stop = threading.Event()

    def parse_quotes() -> None:
        n = 0
        while not stop.is_set():
            short._parse(f"Quote number {n} names nobody in particular.")
            n += 1

    worker = threading.Thread(target=parse_quotes)
    worker.start()
    try:
        for n in range(60):
            doc = nlp()(f"Keith Kellogg met Vladimir Putin in Moscow on day {n}.")
            assert {e.label_ for e in doc.ents} >= {"PERSON", "GPE"}
    finally:
        stop.set()
        worker.join()
    assert "ner" in nlp().pipe_names


def test_a_question_dating_a_document_by_month_may_mean_its_metadata_date() -> None:
    from qa.answer.document_facts import date_words
    from qa.answer.extractive import _about, _names_a_month

    words = date_words("2025-08-06")
    assert "August 6, 2025" in words and "August 2025" in words
    assert date_words("2025-13-01") == "" and date_words(None) == ""
    meta = {"title": "Addressing Threats", "date": "2025-08-06"}
    assert "August 2025" in _about(meta, dated=True) and "2025" not in _about(meta, dated=False)
    assert _names_a_month(analyse("What tariff did the August 2025 order impose?"))
    assert not _names_a_month(analyse("What tariff was imposed in 2025?"))  # a bare year


def test_the_topic_of_a_type_noun_must_exist_somewhere_in_the_corpus() -> None:
    """"What is the unemployment rate?" over a corpus that never says "unemployment" asks
    for a rate the sources cannot hold, whatever other rates they give."""
    from qa.answer.features import question_pool, vocabulary_roots

    a = analyse("What is Russia's unemployment rate in 2024?")
    assert a.focus == "rate" and a.topic == ("unemployment",)
    assert analyse("Which news outlet reported it?").topic == ()  # no type noun: no topic
    idf = {"russia": 1.0, "rate": 2.0, "growth": 3.0, "unemploy": 4.0}
    without = vocabulary_roots(["russia", "rate", "growth", "2024"])
    text = "russia's growth rate was 3.6% in 2024"
    pool = question_pool(a, idf, {"russia", "rate", "growth", "2024"}, text, without)
    assert pool.topic_in_corpus == 0.0
    pool = question_pool(a, idf, {"russia"}, text, without | vocabulary_roots(["unemploy"]))
    assert pool.topic_in_corpus == 1.0


def test_a_sentence_holding_another_year_in_place_of_the_asked_one_is_a_rival() -> None:
    """"What inflation does the bank forecast for 2025?" over passages that give 2024 only: a
    sentence with its own year stands where the asked one should; with 2025 in the passages,
    or without a year of its own, it does not."""
    from qa.answer.features import FEATURES, SentenceView, features, question_pool

    a = analyse("What inflation rate does the central bank forecast for 2025?")
    text = "The central bank predicts inflation in 2024 to be between 9.2% and 9.3%."
    dated = SentenceView(text=text, vector=np.zeros(3), entities=(("DATE", 34, 41),),
                         context="", rank=0, fused=1.0, chunk_cosine=0.5, first_in_chunk=True,
                         prose=True)
    undated = SentenceView(text="Inflation stays high.", vector=np.zeros(3), entities=(),
                           context="", rank=0, fused=1.0, chunk_cosine=0.5,
                           first_in_chunk=True, prose=True)
    idf = {"inflat": 1.0, "bank": 1.0}

    def rival(sentence: SentenceView, pool_text: str) -> float:
        pool = question_pool(a, idf, {"inflat"}, pool_text, frozenset())
        return features(a, pool, sentence, np.zeros(3))[FEATURES.index("rival")]

    assert rival(dated, text.lower()) == 1.0
    assert rival(undated, text.lower()) == 0.0
    assert rival(dated, text.lower() + " the 2025 budget") == 0.0  # the year is there

    def here(sentence: SentenceView, pool_text: str) -> float:
        pool = question_pool(a, idf, {"inflat"}, pool_text, frozenset())
        return features(a, pool, sentence, np.zeros(3))[FEATURES.index("rival_here")]

    # The passages hold 2025 elsewhere; this sentence still puts 2024 in its place.
    assert here(dated, text.lower() + " the 2025 budget") == 1.0
    assert here(undated, text.lower() + " the 2025 budget") == 0.0
    headed = SentenceView(text=text, vector=np.zeros(3), entities=(("DATE", 34, 41),),
                          context="the 2025 forecast outlook on russia in 2025", rank=0,
                          fused=1.0, chunk_cosine=0.5, first_in_chunk=True, prose=True,
                          heading="the 2025 forecast")
    assert here(headed, text.lower()) == 0.0  # its section names the asked year
    titled = replace(headed, heading="")  # only its document's title does: "… in 2025"
    assert here(titled, text.lower()) == 1.0
    # nor does a title make the year present in the passages
    pool = question_pool(a, idf, {"inflat"}, text.lower() + " outlook on russia in 2025",
                         frozenset(), dated_text=text.lower())
    assert features(a, pool, titled, np.zeros(3))[FEATURES.index("rival")] == 1.0


@pytest.mark.parametrize(("question", "presupposes"), [
    ("Since the Senate passed the act in June, what does it do?", True),
    ("Given that the fund got $500 million, which countries benefit?", True),
    ("Why did the council veto the renewal?", True),
    ("Which regions has Russia been occupying since 2008?", False),  # "since" only dates it
    ("What happened after the vote?", False),
])
def test_a_question_presupposes_only_what_it_takes_as_given(question: str,
                                                           presupposes: bool) -> None:
    assert analyse(question).presupposes is presupposes


def test_a_persons_given_name_is_not_a_word_the_passage_must_hold() -> None:
    """The sources go on naming a person by the surname: "Kellogg's appointment …" answers
    "What is Keith Kellogg working on?", and the constraint is met by the surname alone."""
    from qa.answer.features import mentions

    a = analyse("What is Keith Kellogg reportedly working on?")
    assert "kellogg" in a.nouns and "keith" not in a.nouns and "keith" not in a.content
    assert ("PERSON", "Keith Kellogg") in a.entities
    assert mentions("kellogg's appointment has drawn attention", "Keith Kellogg", "PERSON")
    assert not mentions("south korea's exports grew", "North Korea", "GPE")


def test_the_asked_count_and_type_words_are_no_constraints() -> None:
    """"Which two regions" asks for two of them: a passage need not say "two"; nor need it
    say "month and year" for "In which month and year …"."""
    two = analyse("Which two regions of Georgia has Russia been occupying since 2008?")
    assert ("CARDINAL", "two") not in two.entities and ("GPE", "Georgia") in two.entities
    month = analyse("In which month and year did Putin travel to North Korea?")
    assert all(label != "DATE" for label, _ in month.entities)
    assert ("DATE", "2008") in two.entities


def test_what_kind_of_x_asks_about_x() -> None:
    a = analyse("What kind of peace did the two governments say they would work toward?")
    assert a.focus == "peace" and "kind" not in a.nouns


def test_framing_words_and_a_capital_whose_country_is_present_are_not_missing() -> None:
    """"Which year …" and "according to the report" frame a question; "Kyiv" is present where
    "Ukraine" is. Neither may count as the rarest word the passages lack."""
    from qa.answer.features import question_pool, vocabulary_roots

    idf = {"kyiv": 9.0, "year": 8.0, "report": 8.0, "ukraine": 2.0, "talk": 1.0, "bread": 7.0,
           "hold": 1.0}
    vocabulary = vocabulary_roots(list(idf))
    held = {"ukraine", "talk", "hold"}
    a = analyse("In the report, in which year did Kyiv hold talks?")
    pool = question_pool(a, idf, held, "ukraine held its talks", vocabulary)
    assert pool.pool_missing_max == 0.0
    b = analyse("In the report, in which year did Kyiv hold talks about bread?")
    pool = question_pool(b, idf, held, "ukraine held its talks", vocabulary)
    assert pool.pool_missing_max == 7.0 / 9.0  # "bread" is missing, and says so


@pytest.mark.parametrize(
    ("last_question", "last_answer", "follow_up", "resolved"),
    [
        # a who-question makes its answer the topic: "he" is the envoy, not the one who chose
        ("Who is the envoy the president picked for the war?",
         "Kellogg. Thus, Trump's appointment of Kellogg suggests talks could start. [1]",
         "Whose adviser was he before that?", "Whose adviser was Kellogg before that?"),
        # a question about a named person keeps that person as "he"
        ("Who is Keith Kellogg?", "Keith Kellogg, an adviser to Mike Pence, was named. [1]",
         "What did he propose?", "What did Keith Kellogg propose?"),
        # a person is never "it"
        ("What did Trump say about the Panama Canal in his address?",
         "We have been treated very badly. [1]",
         "How many lives did he say it cost to build?",
         "How many lives did Trump say the Panama Canal cost to build?"),
        # "it" is what the question was about, not a phrase of the answer
        ("What does the August 2025 executive order do?",
         "The ad valorem duty imposed in Executive Order 14257 shall apply. [1]",
         "When does it take effect?", "When does the August 2025 executive order take effect?"),
        # ... unless the question asked for the thing: then the answer names it
        ("Which executive order first banned imports of Russian crude oil?",
         "Executive Order 14066 of March 8, 2022.",
         "What does it prohibit?", "What does Executive Order 14066 of March 8, 2022 prohibit?"),
        # a source only frames the question: "it" is what the source defines
        ("How does the tariff order define Russian Federation oil?",
         "Crude oil and petroleum products extracted in the Russian Federation. [1]",
         "Who may sell it?", "Who may sell Russian Federation oil?"),
        # ... but when "it" says something, it is the source
        ("Does the Sejong outlook mention North Korean troops going to Russia?",
         "Reports suggest North Korean troops were sent to Russia. [1]",
         "Did it say they were fighting?",
         "Did the Sejong outlook say North Korean troops were fighting?"),
        # "it" is one thing: not plural, not an office
        ("If both houses pass a joint resolution of disapproval, how long must the president "
         "wait?", "10 calendar days. [1]",
         "And if he vetoes it?", "And if he vetoes a joint resolution"),
        # an abstention names nothing: the question's own topic stays; a question that said
        # "that law" keeps the law the turn before named
        ("What is CAATSA?", "The sources do not say: none of the passages found mentions it.",
         "When was that law enacted?", "When was CAATSA enacted?"),
        # ... and so is "it" asked when it was published, or after a question who wrote it
        ("How does the tariff order define Russian Federation oil?",
         "Crude oil and petroleum products extracted in the Russian Federation. [1]",
         "When was it signed?", "When was the tariff order signed?"),
        ("Who wrote the Sejong outlook on Russia for 2025?", "Beom-Shik Shin. [1]",
         "Does it speak for the Sejong Institute?",
         "Does the Sejong outlook speak for the Sejong Institute?"),
        # "the order" stands for an order: not for the section the last answer named
        ("Which section of the order imposes the duty?", "Sec. 2 [1]: (a) I find ... [2]",
         "Which section lets the president change the order?",
         "Which section lets the president change the order?"),
        # "its" after a name of the question's own is that name's
        ("What did Kellogg write about military aid in his book?", "He wrote about aid. [1]",
         "Does he think Ukraine can get all its territory back?",
         "Does Kellogg think Ukraine can get all its territory back?"),
        # "Who did Trump address?": Trump, who does the asking's verb, stays "he"; the answer's
        # person is "he" after "Who is the envoy …?"
        ("Who did Trump address first in his 2025 inaugural speech?",
         "Vice President Vance, Speaker Johnson. [1]",
         "Did he acknowledge any of his predecessors?",
         "Did Trump acknowledge any of Trump's predecessors?"),
        ("Who is the envoy Trump picked for Ukraine?", "Keith Kellogg. Trump appointed him. [1]",
         "What did he say about NATO?", "What did Keith Kellogg say about NATO?"),
        # a name the answer's NER calls a person comes before an organisation's
        ("Which U.S. commander testified that North Korea wants Russian help?",
         "Admiral Samuel Paparo, commander of U.S. Indo-Pacific Command, testified so. [1]",
         "And what did he say about China?", "And what did Samuel Paparo say about China?"),
        # "What report …?" answered by what its author must do: "it" is the report asked for
        ("What report on elections does the subchapter on Russian influence require?",
         "Not later than 90 days after August 2, 2017, the Secretary of State shall submit a "
         "report on Russian interference in elections in Europe. [1]",
         "Does it have to be public?", "Does the report on elections have to be public?"),
        # ... and a law the answer names by an acronym is "that law"
        ("Which law requires a report before sanctions are eased?",
         "CAATSA. Specifically, the 2017 CAATSA requires the president to report. [1]",
         "When was that law enacted?", "When was the 2017 CAATSA enacted?"),
        # "a separate one", "instead": the question leans on the last turn
        ("What is the White House statement on the Black Sea talks with Russia called?",
         "Outcomes of the United States and Russia Expert Groups On the Black Sea [1]",
         "Was a separate one issued for Ukraine?", "Was a separate one issued for Ukraine? ("),
        ("What is Position A in the outlook's scenarios?", "Reducing aid to Ukraine. [1]",
         "What could push things toward Position C instead?",
         "What could push things toward Position C instead? (Position"),
    ],
)
def test_follow_ups_find_their_antecedent(
    last_question: str, last_answer: str, follow_up: str, resolved: str
) -> None:
    from qa.retrieval.questions import condense

    assert condense(follow_up, [(last_question, last_answer)]).startswith(resolved)


def test_a_long_chain_of_it_questions_is_followed_back_only_a_few_turns() -> None:
    """Thousands of turns that each say "it" neither recurse without end nor stall."""
    from qa.retrieval.questions import LOOK_BACK, prepare

    turns = [("What is CAATSA?", "A sanctions law. [1]")]
    turns += [("What about it?", "It is a law. [1]")] * 3000
    prepared = prepare("When was it enacted?", turns, 2000)
    assert LOOK_BACK < 10 and "it" not in prepared.query.split()


def test_that_law_after_that_law_keeps_the_first_turns_law() -> None:
    """A question that itself said "that law" was about the law of the turn before it."""
    from qa.retrieval.questions import condense

    turns = [("What is CAATSA?", "A 2017 sanctions statute. [1]"),
             ("When was that law enacted?", "August 2, 2017. [1]")]
    assert condense("What does it say about cyber sanctions?", turns).startswith(
        "What does CAATSA say about cyber sanctions?")


def test_they_is_the_plural_noun_phrase_of_the_last_turn_and_keeps_its_topic() -> None:
    """"they" / "them" / "their" stand for the last question's plural noun phrase (without
    its quantifier), and the turn's topic is carried over too: "troops" alone says less."""
    from qa.retrieval.questions import prepare

    turn = ("How many North Korean troops were sent to Russia?", "About 11,000. [1]")
    prepared = prepare("Where did they fight?", [turn], 2000)
    assert prepared.resolved == "Where did North Korean troops fight?"
    assert prepared.query.startswith("Where did North Korean troops fight? (")
    assert "Russia" in prepared.query
    assert prepare("What was their mission?", [turn], 2000).resolved == (
        "What was North Korean troops' mission?")


def test_a_chain_of_follow_ups_keeps_the_topic_its_first_turn_set() -> None:
    """The third question of a chain leans on the second as it was read in its own turn,
    not on its bare words ("Where did they fight?" says nothing of North Korea)."""
    from qa.retrieval.questions import prepare

    turns = [("How many troops did North Korea send to Russia?", "About 11,000. [1]"),
             ("Where did they fight?", "In the Kursk region. [1]")]
    prepared = prepare("What did Putin call them?", turns, 2000)
    assert prepared.query.startswith("What did Putin call troops? (")
    assert "North" in prepared.query and "Korea" in prepared.query


def test_a_resolved_follow_up_is_read_with_its_antecedent() -> None:
    """"Who replaced him?" after a turn about Shoigu is read as "Who replaced Sergei Shoigu?":
    the antecedent is the question's own word, so no span that is only it is the answer."""
    from qa.retrieval.questions import analysis_of, prepare

    turn = ("Which minister was replaced?", "Sergei Shoigu. The replacement of Defense Minister "
            "Sergei Shoigu with Andrei Belousov shows intent. [1]")
    prepared = prepare("Who replaced him?", [turn], 2000)
    assert prepared.resolved == prepared.query == "Who replaced Sergei Shoigu?"
    assert ("PERSON", "Sergei Shoigu") in analysis_of(prepared).entities
    text = "The replacement of Defense Minister Sergei Shoigu with Andrei Belousov shows intent."
    ents = (("PERSON", 35, 48), ("PERSON", 54, 69))
    spans = {text[s.start:s.end] for s in span_candidates(analysis_of(prepared), text, ents)}
    assert "Andrei Belousov" in spans and "Sergei Shoigu" not in spans
    assert prepare("Who replaced him?", [], 2000).resolved is None


@pytest.mark.slow
def test_an_abstention_never_says_a_document_lacks_its_own_byline(tmp_path: Path) -> None:
    """The publisher of the document the passages come from is not "missing" from them."""
    from conftest import make_corpus

    corpus = make_corpus(tmp_path / "corpus", {
        "tides.txt": "Tide Notes\n\nThe spring tide at Port Elwood reaches 4.2 metres in March. "
                     "The neap tide there stays under two metres.\n",
        "tides.txt.meta.json": '{"title": "Tide Notes", "publisher": "Quillan Harbour Board"}',
    })
    settings = qa.Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "index")
    answer = qa.ask("According to the Quillan Harbour Board, how many whales visit Port Elwood?",
                    settings=settings)
    assert answer.abstained
    lead = answer.text.split(".")[0]
    assert "“whales”" in lead  # what is missing is named, as the question writes it ...
    assert "quillan" not in lead.lower() and "harbour" not in lead.lower()  # ... not the byline
    assert "“Norway”" in qa.ask("What is the tide at Port Elwood in Norway?",
                                settings=settings).text


def test_an_elliptical_follow_up_asks_for_what_the_question_before_it_asked_for() -> None:
    from qa.retrieval.questions import analysis_of, prepare

    history = [("How long is the review period for a report?", "30 calendar days [1]")]
    for question in ("Can that period ever be longer?", "And if the president vetoes it?",
                     "What about the second report?"):
        assert analysis_of(prepare(question, history, 1000)).answer_type == DURATION
        assert analysis_of(prepare(question, None, 1000)).answer_type != DURATION
    # a follow-up asking for its own kind of answer keeps it
    own = analysis_of(prepare("Who submits it?", history, 1000))
    assert own.answer_type == AGENT


def test_a_question_without_a_content_word_of_its_own_leans_on_the_last_turn() -> None:
    """"Mostly from what?" names nothing: it asks what the last turn was about; a question
    that names its own subject stands alone, even after other turns."""
    from qa.retrieval.questions import needs_context, prepare

    history = [("How much did the harbour earn from the ferries?", "About $2 million [1]")]
    for question in ("Mostly from what?", "Against whom?", "Why?"):
        assert needs_context(question)
        assert "harbour" in prepare(question, history, 1000).query
    standalone = "What did the mayor say about the lighthouse?"
    assert not needs_context(standalone)
    assert prepare(standalone, history, 1000).query == standalone


@pytest.mark.parametrize(("question", "field"), [
    ("When was the brief last updated?", "date"),
    ("What is the update date of the CRS report?", "date"),
    ("When was the outlook published?", "date"),
    ("Who wrote the outlook?", "author"),
    ("When did the war start?", None),  # about what a document says, not about the document
])
def test_questions_about_a_document_itself(question: str, field: str | None) -> None:
    from qa.answer.document_facts import asked_field

    assert asked_field(question) == field


def test_a_question_names_a_document_by_words_only_its_description_holds() -> None:
    from qa.retrieval.named import named_sources

    docs = {
        "inaugural.txt": {"title": "The Inaugural Address", "author": "The White House"},
        "brief.md": {"title": "Harbour Relations (CRS In Focus IF1)"},
        "outlook.txt": {"title": "Outlook on the Harbour in 2025", "publisher": "Quay Institute"},
        "order.md": {"title": "Executive Order on Harbour Fees"},
    }

    def named(question: str) -> set[str]:
        return set(named_sources(analyse(question), docs))

    assert named("What did he promise in his inaugural speech?") == {"inaugural.txt"}
    assert named("What does the CRS brief say about fees?") == {"brief.md"}
    assert named("What does the outlook expect?") == {"outlook.txt"}  # one title says it
    assert named("What does the Quay Institute report say?") == {"outlook.txt"}  # the byline
    assert named("What does the report say about fees?") == set()  # no document in particular
    assert named("What are the harbour fees?") == set()  # no source phrase at all
    # By its kind: "the speech" is the address, "the order" the executive order, with half
    # of the phrase's other words ("the port fee order": "fee"); a law the question names
    # ("the Harbour Support Act") is no document.
    docs["statute.txt"] = {"title": "33 U.S.C. ch. 9, Harbours",
                           "author": "Office of the Law Revision Counsel"}
    assert named("Which epidemic did he promise to end in the speech?") == {"inaugural.txt"}
    assert named("According to the transcript, when did he finish?") == {"inaugural.txt"}
    assert named("Who must enforce the port fee order?") == {"order.md"}
    assert named("What does the statute require of pilots?") == {"statute.txt"}
    assert named("When did the Harbour Support Act pass the House?") == set()
    # A word's derivation names the document too ("inauguration" / "Inaugural"); a numbered
    # order is another order unless a description holds its number; "in order to" is no order.
    assert named("What did he announce in his inauguration speech?") == {"inaugural.txt"}
    assert named("When was Executive Order 13660 signed?") == set()
    docs["eo.md"] = {"title": "Executive Order 14329 on Harbour Dues"}
    assert named("What does Executive Order 14329 impose?") == {"eo.md"}
    assert named("Which ports must pilots use in order to dock?") == set()


def test_folds_hold_each_item_out_once_and_keep_a_group_together() -> None:
    from evals.fitting import folds

    data = [{"id": i, "group": f"q{i // 3}"} for i in range(14)]  # a question and two twins
    splits = list(folds(data, 4, group=lambda d: d["group"]))
    held = [d["id"] for _, h in splits for d in h]
    assert sorted(held) == list(range(14))
    for train, h in splits:
        assert not {d["group"] for d in train} & {d["group"] for d in h}
        assert len(train) + len(h) == 14
    assert [h for _, h in folds(list(range(7)), 3)] == [[0, 3, 6], [1, 4], [2, 5]]
    # a repeat deals the items in another fixed order, each still held out once
    again = [h for _, h in folds(list(range(7)), 3, repeat=1)]
    assert again != [[0, 3, 6], [1, 4], [2, 5]] and sorted(sum(again, [])) == list(range(7))
    assert again == [h for _, h in folds(list(range(7)), 3, repeat=1)]
    for train, h in folds(data, 4, group=lambda d: d["group"], repeat=2):
        assert not {d["group"] for d in train} & {d["group"] for d in h}


def test_the_short_threshold_is_judged_on_what_ask_quotes_first() -> None:
    """Below the threshold the evaluation scores all the quotes, and an item whose first quote
    the reader did not weigh has no span to give: the threshold sees both."""
    sure = {"oracle": ([[1.0]], [1.0]), "asked": ([[1.0]], [0.8]), "quotes_f1": 0.2}
    unsure = {"oracle": ([[0.0]], [1.0]), "asked": ([[0.0]], [0.0]), "quotes_f1": 0.3}
    unquoted = {"oracle": ([], []), "asked": ([], []), "quotes_f1": 0.0}
    data = [sure, unsure, unquoted]
    best = [(0.9, 0.8), (0.4, 0.0), (0.0, 0.0)]
    assert fit_short._mean_f1(data, best, 0.5) == pytest.approx((0.8 + 0.3 + 0.0) / 3)
    assert fit_short._mean_f1(data, best, 0.0) == pytest.approx(0.8 / 3)
    assert fit_short._mean_f1(data, best, 1.01) == pytest.approx(0.5 / 3)


@pytest.mark.slow
def test_sources_of_different_dates_answer_best_first_then_newest_first(tmp_path: Path) -> None:
    """Documents of different dates that each answer: the best-supported quote answers first
    (the short answer is its span), then the notice, then the others newest first, each named
    with its title and date."""
    from conftest import make_corpus

    corpus = make_corpus(tmp_path / "corpus", {
        "survey.txt": "Harbour Survey\n\nThe Elwood lighthouse stands 31 metres tall above the "
                      "breakwater of the harbour.\n",
        "survey.txt.meta.json": '{"title": "Harbour Survey", "date": "2019-05-01"}',
        "guide.md": "# Coast Guide\n\nThe Elwood lighthouse stands 33 metres tall above the "
                    "breakwater since its new lantern was fitted.\n",
        "guide.md.meta.json": '{"title": "Coast Guide", "date": "2024-08-15"}',
        "notes.txt": "Keeper Notes\n\nThe Elwood lighthouse stands 30 metres tall above the "
                     "breakwater, by the keeper's own measure.\n",
        "notes.txt.meta.json": '{"title": "Keeper Notes", "date": "2021-02-10"}',
    })
    settings = qa.Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "index")
    answer = qa.ask("How tall does the Elwood lighthouse stand?", settings=settings)
    assert not answer.abstained and len(answer.citations) > 1
    first = answer.citations[0]
    assert answer.short is not None and answer.short in first.quote
    assert answer.text.startswith(answer.short)
    assert "The sources differ in date; the others, newest first:" in answer.text
    dates = [c.date or "" for c in answer.citations[1:]]
    assert dates == sorted(dates, reverse=True)
    for c in answer.citations:
        assert f"{c.title} ({c.date}): " in answer.text
        assert (corpus / c.source).read_text(encoding="utf-8")[c.start : c.end] == c.quote
    assert answer.text.index(first.title) < answer.text.index("differ in date")


def test_a_reader_model_fitted_for_other_features_is_refused() -> None:
    """A model file from before a feature was added would score with shifted weights: it is
    refused with the command that fits it again, for the sentence features and the answer
    model's alike."""
    import json

    from qa.answer.scorer import MODEL_PATH, model_from_dict

    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert model_from_dict(data).answer_weights.shape == (len(data["answer_features"]),)
    for key in ("features", "answer_features"):
        stale = {**data, key: data[key][:-1]}
        with pytest.raises(qa.QAError, match="fit_reader"):
            model_from_dict(stale)


def test_the_answer_model_reads_the_runner_up() -> None:
    """Two equally likely sentences and one clear best give the answer model different
    inputs: the runner-up's probability is one of them."""
    from qa.answer.scorer import ANSWER_FEATURES, load_model

    model = load_model()
    context = [0.0] * (len(ANSWER_FEATURES) - 3)
    tied = model.answer_features([0.6, 0.6], *context)
    clear = model.answer_features([0.6, 0.1], *context)
    at = ANSWER_FEATURES.index("second_probability")
    assert tied[at] == 0.6 and clear[at] == 0.1
    assert model.answer_features([], *context)[at] == 0.0


def test_a_count_is_found_before_the_plural_of_a_y_noun() -> None:
    from qa.answer.features import _counts

    assert _counts("the United States and 10 countries formed the team", "country")
    assert _counts("three smaller parties joined", "party")
    assert not _counts("the country joined in 2024", "country")


def test_an_acronym_the_tagger_misreads_is_still_a_noun_to_cover() -> None:
    """The small tagger makes "CAATSA" an adverb here; an acronym is a name all the same."""
    a = analyse("Who signed CAATSA into law?")
    assert "caatsa" in a.nouns and "caatsa" in a.content


def test_a_pronoun_is_never_a_short_answer_candidate() -> None:
    text = "Panama's promise to us has been broken, and we are taking it back."
    spans = {text[s.start : s.end]
             for s in span_candidates(analyse("What did Panama promise?"), text, ())}
    assert spans and not spans & {"us", "we", "it"}


@pytest.mark.slow
def test_which_section_is_answered_with_the_division_the_quote_sits_in(tmp_path: Path) -> None:
    """"Which section …?" is answered with the numbered division heading the best quote sits
    under ("Sec. 3"), cited where the document writes it, then the quote; a document without
    numbered divisions answers with its section heading; other questions are unchanged."""
    from conftest import make_corpus

    order = ("# Harbour Order\n\nSec. 1.  Purpose.  This order governs moorings in Port Elwood "
             "and the fees the Harbour Board collects for them.\n\n"
             "Sec. 2.  Fees.  Each mooring costs 40 crowns a night, payable to the harbourmaster "
             "on arrival.\n\nSec. 3.  Severability.  If any provision of this order is held "
             "invalid, the remainder of this order shall not be affected.\n")
    notes = ("# Tide Notes\n\n## Spring Tides\n\nThe spring tide at Port Elwood reaches 4.2 "
             "metres in March, when the moon is full.\n\n## Fishing Fleet\n\nThe fishing fleet "
             "of Port Elwood counts thirty trawlers, most of them built in Quillan.\n")
    corpus = make_corpus(tmp_path / "corpus", {"order.md": order, "notes.md": notes})
    settings = qa.Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "index")
    answer = qa.ask("In which section of the order is the remainder of the order unaffected when "
                    "a provision is held invalid?", settings=settings)
    assert answer.short == "Sec. 3" and not answer.abstained
    first, second = answer.citations[:2]
    assert first.quote.startswith("Sec. 3.") and order[first.start:first.end] == first.quote
    assert "remainder of this order" in second.quote
    assert answer.text.startswith("Sec. 3, “Sec. 3. Severability.” [1]: ")
    heading = qa.ask("Under which heading does the document describe the trawlers?",
                     settings=settings)
    assert heading.short == "Fishing Fleet" and heading.citations[0].quote == "Fishing Fleet"
    assert "thirty trawlers" in heading.citations[1].quote
    plain = qa.ask("How much does a mooring cost a night?", settings=settings)
    assert (plain.short or "").startswith("40 crowns") and not plain.text.startswith("Sec.")


def test_a_passage_about_the_dated_noun_of_another_year_is_a_near_miss() -> None:
    """"The 2024 threat assessment" dates the noun it asks about: a sentence on the 2025
    assessment (and not on 2024) is flagged; a year that dates the question's clause sets
    nothing, and a year the question itself names elsewhere is no rival."""
    from qa.answer.features import FEATURES, QuestionPool, SentenceView, features
    from qa.retrieval.analysis import analyse

    question = "What did the 2024 annual threat assessment say about North Korea?"
    analysis = analyse(question)
    assert analysis.dated_nouns == (("2024", "assessment"),)
    assert analyse("In 2024, how fast did Russia grow?").dated_nouns == ()
    pool = QuestionPool(weights={}, roots=frozenset(), nouns=(), rarest=None, named=(),
                        absent=(), asked=frozenset(), focus=frozenset(), pool_cover=1.0,
                        rarest_in_pool=1.0, corpus_cover=1.0, pool_constraints=1.0, unseen=1.0,
                        pool_overlap=1.0, pool_missing_max=0.0, topic_in_corpus=1.0)

    def flagged(text: str, asked: str = question) -> float:
        view = SentenceView(text=text, vector=np.zeros(384, dtype=np.float32), entities=(),
                            context="", rank=0, fused=1.0, chunk_cosine=0.5,
                            first_in_chunk=True, prose=True)
        row = features(analyse(asked), pool, view, np.zeros(384, dtype=np.float32))
        return row[FEATURES.index("dated_rival")]

    assert flagged("The 2025 annual threat assessment says Russia aids North Korea.") == 1.0
    assert flagged("The 2024 annual threat assessment says Russia aids North Korea.") == 0.0
    assert flagged("The assessment says Russia aids North Korea.") == 0.0
    both = "How did the 2026 threat assessment go beyond the 2025 one?"
    assert flagged("The 2025 threat assessment was narrower.", both) == 0.0


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        ("Who may introduce a joint resolution in the House, compared with the Senate?",
         ("Who may introduce a joint resolution in the House?",
          "Who may introduce a joint resolution in the Senate?")),
        ("What must the president certify to waive the cyber-related sanctions, compared with "
         "the Ukraine-related ones?",
         ("What must the president certify to waive the cyber-related sanctions?",
          "What must the president certify to waive the Ukraine-related sanctions?")),
        ("How does Russia's economy compare with Germany's?",
         ("How does Russia's economy compare?", "How does Germany's economy compare?")),
        ("Was growth expected to slow down in 2024 compared with 2023?",
         ("Was growth expected to slow down in 2024?",
          "Was growth expected to slow down in 2023?")),
    ],
)
def test_x_compared_with_y_is_asked_of_each_side(question: str, parts: tuple[str, str]) -> None:
    """"X, compared with Y" and "How does X compare with Y?" become the question about X and
    the same question with Y where X stood ("ones" and "Germany's" take X's noun; a date is
    compared with the date)."""
    from qa.retrieval.analysis import analyse

    assert analyse(question).parts == parts


def test_an_entity_named_by_its_acronym_is_met_not_rivalled() -> None:
    """The question's "UN Security Council" is in a sentence that says "the UNSC": the
    constraint is met, and the UNSC is no rival organisation in its place."""
    from qa.answer.features import FEATURES, SentenceView, features, question_pool

    question = "Do the UN Security Council resolutions bar arms transfers to North Korea?"
    a = analyse(question)
    text = "The UNSC resolutions prohibit weapons transfers to or from North Korea."
    at = text.index("North Korea")
    entities = (("ORG", 4, 8), ("GPE", at, at + len("North Korea")))
    from qa.index.lexical import tokenize
    from qa.retrieval.acronyms import covered

    stems = set(tokenize(text)) | covered(question, text)
    pool = question_pool(a, {}, stems, text.lower(), frozenset(stems))
    view = SentenceView(text=text, vector=np.zeros(384, dtype=np.float32), entities=entities,
                        context="", rank=0, fused=1.0, chunk_cosine=0.5, first_in_chunk=True,
                        prose=True)
    row = features(a, pool, view, np.zeros(384, dtype=np.float32))
    assert row[FEATURES.index("constraints")] == 1.0
    assert row[FEATURES.index("rival_here")] == 0.0
    assert pool.absent == () and pool.pool_constraints == 1.0


@pytest.mark.parametrize(("question", "sentence", "met"), [
    ("On what date did the order take effect?", "It took effect on August 27, 2025.", 1.0),
    ("On what date did the order take effect?", "It took effect in 2025.", 0.0),
    ("In which month of 2008 did they sign it?", "They signed it in 2008.", 0.0),
    ("In which month of 2008 did they sign it?", "They signed it in May 2008.", 1.0),
    ("At what time does the duty apply?", "It applies from 12:01 a.m. on that day.", 1.0),
    ("In what year was the treaty signed?", "It was signed on June 19, 2024.", 1.0),
    ("When was the treaty signed?", "It was signed in 2024.", 1.0),  # no grain asked
])
def test_a_date_must_be_as_fine_as_the_question_asks(question: str, sentence: str,
                                                     met: float) -> None:
    from qa.answer.features import FEATURES, SentenceView, features, question_pool
    from qa.ingest.linguistics import nlp

    a = analyse(question)
    doc = nlp()(sentence)
    entities = tuple((e.label_, e.start_char, e.end_char) for e in doc.ents)
    pool = question_pool(a, {}, set(), sentence.lower(), frozenset())
    view = SentenceView(text=sentence, vector=np.zeros(384, dtype=np.float32), entities=entities,
                        context="", rank=0, fused=1.0, chunk_cosine=0.5, first_in_chunk=True,
                        prose=True)
    assert features(a, pool, view, np.zeros(384, dtype=np.float32))[
        FEATURES.index("grain")] == met, entities


def test_time_counted_or_measured_is_asked_for_in_dates_too() -> None:
    """spaCy labels "four years" and "15 days" DATE: "how many of the greatest years" counts
    years (the object of its "of"), and "how much notice" is measured in time."""
    from qa.retrieval.analysis import analyse

    partitive = analyse("How many of the greatest years did he promise?")
    assert partitive.counted == "year" and "DATE" in partitive.labels
    assert "DATE" in analyse("How much notice must the Secretary give Congress?").labels
    assert "DATE" not in analyse("How much money did the fund receive?").labels
    assert analyse("How many of the senators voted?").counted == "senator"


def test_an_alternative_question_is_asked_of_each_alternative() -> None:
    """"A or B" weighed against each other ("more often", "first") is two questions; a plain
    "or" with nothing weighed is one."""
    from qa.retrieval.analysis import analyse

    assert analyse("Did the House or the Senate pass the bill first?").parts == (
        "Did the House pass the bill first?", "Did the Senate pass the bill first?")
    assert analyse("Has Kim met Putin or Xi Jinping more often?").parts == (
        "Has Kim met Putin more often?", "Has Kim met Xi Jinping more often?")
    assert analyse("Did the House or the Senate pass the bill?").parts == ()


@pytest.mark.slow
def test_a_quote_joins_the_neighbour_it_points_back_at_or_that_points_back_at_it(
    tmp_path: Path,
) -> None:
    """"However, Moscow rejects this plan." names no plan: it is quoted with the sentence
    before it; "They drained it …" goes on from the best sentence, and is quoted with it:
    one quote over both, whose offsets still point into the source. A sentence that starts
    afresh is not joined."""
    from conftest import make_corpus

    corpus = make_corpus(tmp_path / "corpus", {
        "harbour.txt": "Harbour Notes\n\nThe council weighed two plans for the old quay. "
                       "One plan would fill the eastern basin with gravel from the dunes. "
                       "However, the fishermen's guild firmly rejects this plan.\n\n"
                       "The western basin stays open to ferries all year.\n",
        "marsh.txt": "Marsh History\n\nThe first settlers crossed the great marsh of Elwood "
                     "in the spring of 1850. They drained its western half with windmills and "
                     "planted barley there.\n\nThe harbour of Elwood was dredged in 1901. "
                     "Fishing boats moored there from the following year.\n",
    })
    settings = qa.Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "index")
    answer = qa.ask("Which plan does the fishermen's guild reject?", settings=settings)
    assert not answer.abstained
    first = answer.citations[0]
    assert "firmly rejects this plan" in first.quote and "eastern basin" in first.quote
    assert qa.source_text(first.source, settings=settings)[first.start:first.end] == first.quote
    answer = qa.ask("When did the first settlers cross the great marsh of Elwood?",
                    settings=settings)
    first = answer.citations[0]
    assert first.quote.startswith("The first settlers crossed") and "windmills" in first.quote
    assert qa.source_text(first.source, settings=settings)[first.start:first.end] == first.quote
    answer = qa.ask("When was the harbour of Elwood dredged?", settings=settings)
    assert answer.citations[0].quote == "The harbour of Elwood was dredged in 1901."


@pytest.mark.slow
def test_a_premise_the_passages_spell_out_is_no_false_premise(tmp_path: Path) -> None:
    """"Why did NATO admit Finland?" where the passage writes "the North Atlantic Treaty
    Organization": the premise holds, so it is answered, not corrected as if NATO were absent."""
    from conftest import make_corpus

    corpus = make_corpus(tmp_path / "corpus", {
        "alliance.txt": "Alliance Notes\n\nThe North Atlantic Treaty Organization admitted "
                        "Finland in April 2023 after Russia invaded Ukraine. The decision ended "
                        "decades of Finnish neutrality.\n",
    })
    settings = qa.Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "index")
    answer = qa.ask("Why did NATO admit Finland in 2023?", settings=settings)
    assert "not “NATO”" not in answer.text and "NATO" not in (answer.short or "")
    assert any("North Atlantic Treaty Organization" in c.quote for c in answer.citations)


def test_a_title_is_found_where_the_text_writes_it_without_its_aside() -> None:
    """A metadata title with an aside the text lacks, in another letter case, is located
    whole, not cut at the aside: a "which document" answer quotes all of it."""
    from qa.answer.document_facts import locate

    text = "TITLE: Outcomes of the Harbour Expert Groups On the Tides\nDATE: 2025-03-25\n"
    title = "Outcomes of the Harbour (and River) Expert Groups on the Tides"
    start, end = locate("title", title, text) or (0, 0)
    assert text[start:end] == "Outcomes of the Harbour Expert Groups On the Tides"


def test_an_everyday_word_no_passage_uses_weighs_as_a_typical_word() -> None:
    """"For my homework, …": a word the corpus never uses is the rarest of all when it is a name
    or a term, but an everyday English word ("homework", "clout") is as likely a paraphrase as
    a missing detail, and weighs as a typical word of the corpus; a name stays rarest, though
    an uncased vocabulary lists "geneva"."""
    from qa.answer.features import question_pool
    from qa.index.lexical import tokenize

    idf = dict(zip(tokenize("statute make president notify congress"), [2.0, 1.0, 1.0, 3.0, 4.0],
                   strict=True))
    english = frozenset({"homework", "geneva"})
    a = analyse("For my homework, which statute makes the president notify Congress?")
    everyday = question_pool(a, idf, set(idf), "", frozenset(), english=english)
    plain = question_pool(a, idf, set(idf), "", frozenset())
    assert everyday.weights["homework"] == 2.0 and plain.weights["homework"] == 4.0  # median, max
    assert everyday.pool_missing_max < plain.pool_missing_max
    b = analyse("Which statute did the delegates sign in Geneva?")
    assert question_pool(b, idf, set(idf), "", frozenset(), english=english).weights["geneva"] \
        == 4.0


def test_listwise_null_option_lets_unanswerable_questions_pull_scores_down() -> None:
    import numpy as np

    from evals.fitting import listwise

    answerable = (np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]), np.array([1.0, 0.0, 0.0]))
    # an unanswerable question whose sentences all have the first feature
    unanswerable = (np.array([[1.0, 0.0], [1.0, 1.0]]), np.zeros(2))
    alone = listwise([answerable], 1.0, null=[1.0])
    ignored = listwise([answerable, unanswerable], 1.0, null=[1.0, 0.0])
    weighed = listwise([answerable, unanswerable], 1.0, null=[1.0, 5.0])
    assert np.allclose(alone, ignored, atol=1e-5)  # a weight of 0 is no question at all
    assert weighed[0] < ignored[0]  # "none of these" wins there: the feature counts for less
    assert alone[0] > 0 > alone[1]  # the gold sentence's feature still ranks it first
    plain = listwise([answerable], 1.0)  # no null option: as before, a softmax of rows only
    assert plain[0] > 0
