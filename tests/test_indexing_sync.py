"""Incremental sync: only what changed is re-embedded; settings changes rebuild."""

from __future__ import annotations

from pathlib import Path

import pytest

import qa
from qa.ingest.chunking import ChunkSettings, chunk_document, split_sentences
from qa.ingest.loaders import load_document
from tests.conftest import make_corpus

DOC_A = (
    "The U.S. Senate voted on the bill. Growth reached 87.3% in 2024.\n\n"
    "Germany's GDP was $5.31 trillion, according to Dr. J. R. Smith of the U.N. agency. "
    'He said "the outlook is stable." Then he left.\n'
)
DOC_B = (
    "# Overview\n\nThe Black Sea talks took place in Riyadh.\n\n## Outcomes\n\n"
    "Navigation is safe.\n"
)
DOC_C = "Kellogg proposed freezing the front lines at their current positions.\n"


def _settings(tmp_path: Path) -> qa.Settings:
    corpus = make_corpus(tmp_path / "corpus", {"a.txt": DOC_A, "b.md": DOC_B})
    return qa.Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "index")


def _chunk_ids(settings: qa.Settings) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for p in qa.retrieve("the", k=50, settings=settings):
        out.setdefault(p.source, set()).add(p.chunk_id)
    return out


@pytest.mark.slow
def test_touching_one_file_reembeds_only_its_chunks(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    first = qa.reindex(settings, progress=False)
    assert first.rebuilt and first.documents == 2
    unchanged = qa.reindex(settings, progress=False)
    assert unchanged.added == 0 and unchanged.changed_sources == []

    path = settings.corpus_dir / "a.txt"
    path.write_text(DOC_A + "\nA new closing sentence was added.\n", encoding="utf-8")
    report = qa.reindex(settings, progress=False)
    assert report.changed_sources == ["a.txt"]
    assert not report.rebuilt
    assert 0 < report.added <= 2  # only the new or changed chunks of a.txt
    info = qa.corpus_info(settings)
    assert {d.source for d in info.documents} == {"a.txt", "b.md"}

    (settings.corpus_dir / "c.txt").write_text(DOC_C, encoding="utf-8")
    answer = qa.ask("What did Kellogg propose about the front lines?", settings=settings)
    assert not answer.abstained and answer.citations[0].source == "c.txt"

    (settings.corpus_dir / "c.txt").unlink()
    report = qa.reindex(settings, progress=False)
    assert report.removed_sources == ["c.txt"] and report.deleted > 0
    assert all(p.source != "c.txt" for p in qa.retrieve("Kellogg front lines", k=10,
                                                         settings=settings))


@pytest.mark.slow
def test_index_status_follows_the_corpus(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert qa.index_status(settings) == "missing"
    qa.reindex(settings, progress=False)
    assert qa.index_status(settings) == "fresh"
    (settings.corpus_dir / "c.txt").write_text(DOC_C, encoding="utf-8")
    assert qa.index_status(settings) == "stale"


@pytest.mark.slow
def test_changed_chunk_setting_triggers_a_full_rebuild(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    qa.reindex(settings, progress=False)
    report = qa.reindex(settings.with_(chunk_chars=300), progress=False)
    assert report.rebuilt


@pytest.mark.slow
def test_index_builds_itself_on_first_ask(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    answer = qa.ask("Where did the Black Sea talks take place?", settings=settings)
    assert not answer.abstained and "Riyadh" in answer.text
    assert answer.citations[0].section == "Overview"


def test_abbreviations_and_numbers_survive_sentence_splitting() -> None:
    text = " ".join(DOC_A.split())
    sentences = [text[s:e] for s, e in split_sentences(text)]
    assert sentences == [
        "The U.S. Senate voted on the bill.",
        "Growth reached 87.3% in 2024.",
        "Germany's GDP was $5.31 trillion, according to Dr. J. R. Smith of the U.N. agency.",
        'He said "the outlook is stable."',
        "Then he left.",
    ]


def test_chunks_map_back_to_raw_offsets(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "c", {"a.txt": DOC_A, "b.md": DOC_B})
    for name in ("a.txt", "b.md"):
        doc = load_document(corpus / name, corpus)
        chunks = chunk_document(doc, ChunkSettings(max_chars=80))
        assert chunks
        for chunk in chunks:
            raw = doc.text[chunk.start : chunk.end]
            assert " ".join(raw.split()) == chunk.text
            assert len(chunk.id) == 32
        if name == "b.md":
            assert [c.section for c in chunks] == ["Overview", "Outcomes"]


LONG = [
    f"Paragraph {i} discusses topic number {i} of the long report in enough words to make "
    f"it a chunk of its own. It adds a second sentence about item {i * 7} so that the "
    f"paragraph passes the merge threshold of the chunker comfortably."
    for i in range(120)
]


@pytest.mark.slow
def test_appending_to_a_long_document_embeds_only_the_new_chunk(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus", {"long.txt": "\n\n".join(LONG) + "\n"})
    settings = qa.Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "index")
    first = qa.reindex(settings, progress=False)
    assert first.chunks >= 100  # more than one embedding batch
    with (corpus / "long.txt").open("a", encoding="utf-8") as fh:
        fh.write("\nA closing paragraph was appended to the long report at the very end.\n")
    report = qa.reindex(settings, progress=False)
    assert report.changed_sources == ["long.txt"]
    assert 1 <= report.added <= 2


@pytest.mark.slow
def test_an_edit_near_the_top_moves_later_chunks_without_re_embedding_them(
    tmp_path: Path,
) -> None:
    corpus = make_corpus(tmp_path / "corpus", {"long.txt": "\n\n".join(LONG) + "\n"})
    settings = qa.Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "index")
    qa.reindex(settings, progress=False)
    question = "What does paragraph 97 discuss about item 679?"
    before = qa.ask(question, settings=settings)
    assert not before.abstained
    inserted = (
        "A new paragraph was written near the top, above all the later ones, long enough to "
        "stand as its own chunk in the report. It adds a second sentence to pass the merge "
        "threshold of the chunker."
    )  # below the first line, which names the document (its title is in every chunk id)
    (corpus / "long.txt").write_text(
        "\n\n".join([LONG[0], inserted, *LONG[1:]]) + "\n", encoding="utf-8"
    )
    report = qa.reindex(settings, progress=False)
    assert report.changed_sources == ["long.txt"] and report.added == 1  # only the new chunk
    after = qa.ask(question, settings=settings)
    assert not after.abstained and after.text == before.text
    shift = after.citations[0].start - before.citations[0].start
    assert shift > 100  # the same sentence, further down the file ...
    for c in after.citations:  # ... and its offsets follow it
        assert qa.source_text(c.source, settings=settings)[c.start : c.end] == c.quote
    for p in after.passages:
        assert qa.source_text(p.source, settings=settings)[p.start : p.end] == p.text


@pytest.mark.slow
def test_rescan_interval_defers_noticing_corpus_changes(tmp_path: Path) -> None:
    """A process asked to rescan rarely answers from the index it has until the interval
    passes; with 0 it looks before every question (the default does so for small corpora)."""
    settings = _settings(tmp_path).with_(rescan_seconds=3600)
    qa.ask("Where did the Black Sea talks take place?", settings=settings)
    (settings.corpus_dir / "c.txt").write_text(DOC_C, encoding="utf-8")
    question = "What did Kellogg propose about the front lines?"
    before = qa.ask(question, settings=settings)
    assert all(c.source != "c.txt" for c in before.citations)
    assert qa.index_status(settings) == "stale"
    after = qa.ask(question, settings=settings.with_(rescan_seconds=0))
    assert not after.abstained and after.citations[0].source == "c.txt"
    assert qa.index_status(settings) == "fresh"


def test_rescan_seconds_must_not_be_negative() -> None:
    with pytest.raises(qa.ConfigError):
        qa.Settings.from_env(env={"QA_RESCAN_SECONDS": "-1"})
    assert qa.Settings.from_env(env={"QA_RESCAN_SECONDS": "2.5"}).rescan_seconds == 2.5
