"""Formats that used to lose text or offsets: a Windows-1251 file, Markdown structure (setext
headings, links, code fences, tables) and HTML with a lone ``\\r``. Each is loaded from a real
file, and indexed for real, with ``source_text[start:end]`` reproducing every span."""

from __future__ import annotations

from pathlib import Path

import pytest

import qa
from qa.ingest.chunking import ChunkSettings, chunk_document
from qa.ingest.decoding import decode
from qa.ingest.loaders import LoadedDocument, SkippedDocument, load_document, source_text

RUSSIAN = (
    "Посол США встретился с российской делегацией в Эр-Рияде.\r\n"
    "Переговоры о судоходстве в Чёрном море продолжались два дня.\r\n"
    "\r\n"
    "Стороны договорились о прекращении ударов по энергетическим объектам.\r\n"
)
MARKDOWN = """Black Sea Talks
===============

The delegations met in Riyadh under [the order](https://example.com/eo_(2025) "EO 14066").
Both sides agreed on *safe navigation* and **fewer strikes**.

Outcomes
--------

```python
def ceasefire():
    return "This code is not prose. It must not be indexed."
```

| Party | Commitment |
|-------|------------|
| Russia | grain exports |

- Shipping lanes reopen next month.
- Ports get insurance support.

## Next steps

Talks continue in Istanbul &amp; Geneva.
"""


def _assert_exact(doc: LoadedDocument, raw: str) -> None:
    """Every paragraph and chunk sentence maps to a raw span; plain characters map one to one."""
    assert doc.text == raw
    for p in doc.paragraphs:
        s, e = p.raw_span(0, len(p.text))
        assert raw[s] in (p.text[0], "&") and raw[e - 1] in (p.text[-1], "&"), (raw[s:e], p.text)
        for ch, at in zip(p.text, p.positions, strict=True):
            assert ch == " " or raw[at] in (ch, "&"), (ch, raw[at:], p.text)
    for c in chunk_document(doc, ChunkSettings()):
        assert (c.start, c.end) == (c.sentences[0].start, c.sentences[-1].end)
        for sentence in c.sentences:
            assert raw[sentence.start] == sentence.text[0]
            assert raw[sentence.end - 1] == sentence.text[-1]


# --- encodings -------------------------------------------------------------------------------


def test_windows_1251_is_detected_and_decoded(tmp_path: Path) -> None:
    path = tmp_path / "ru.txt"
    path.write_bytes(RUSSIAN.encode("cp1251"))
    doc = load_document(path, tmp_path)
    raw = source_text(path)
    assert raw == RUSSIAN  # not mojibake: the text as it was written
    assert any("cp1251" in w and "not valid UTF-8" in w for w in doc.warnings), doc.warnings
    assert [p.text for p in doc.paragraphs] == [
        "Посол США встретился с российской делегацией в Эр-Рияде. "
        "Переговоры о судоходстве в Чёрном море продолжались два дня.",
        "Стороны договорились о прекращении ударов по энергетическим объектам.",
    ]
    for p in doc.paragraphs:
        s, e = p.raw_span(0, len(p.text))
        assert " ".join(raw[s:e].split()) == p.text
    _assert_exact(doc, raw)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Notes de la délégation à Genève: le café était fermé.\n", "cp1252"),
        ("Привет, мир.\n", "cp1251"),  # too short to tell apart by statistics alone
        ("Die Straße führt über die Brücke. Größere Schiffe warten.\n", "cp1252"),
        ("Посол США встретился с делегацией в Эр-Рияде. Переговоры шли два дня.\n", "koi8_r"),
    ],
)
def test_legacy_encodings_round_trip(text: str, encoding: str) -> None:
    warnings: list[str] = []
    assert decode(text.encode(encoding), "x.txt", warnings) == text
    assert len(warnings) == 1 and "not valid UTF-8" in warnings[0]


def test_utf8_with_and_without_bom_is_read_as_is(tmp_path: Path) -> None:
    text = "Café talks in Genève.\n\nA second paragraph here.\n"
    for name, data in (("plain.txt", text.encode()), ("bom.txt", b"\xef\xbb\xbf" + text.encode())):
        path = tmp_path / name
        path.write_bytes(data)
        doc = load_document(path, tmp_path)
        assert doc.warnings == []
        assert source_text(path) == data.decode("utf-8")  # a BOM stays, as U+FEFF
        _assert_exact(doc, source_text(path))


def test_binary_data_is_still_skipped(tmp_path: Path) -> None:
    path = tmp_path / "blob.txt"
    path.write_bytes(bytes(range(1, 256)) * 40)
    with pytest.raises(SkippedDocument, match="binary|not readable"):
        load_document(path, tmp_path)


# --- Markdown --------------------------------------------------------------------------------


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_markdown_structure_with_exact_offsets(tmp_path: Path, eol: str) -> None:
    path = tmp_path / "talks.md"
    path.write_bytes(MARKDOWN.replace("\n", eol).encode())
    doc = load_document(path, tmp_path)
    raw = source_text(path)
    assert [(p.section, p.text) for p in doc.paragraphs] == [
        ("Black Sea Talks", "The delegations met in Riyadh under the order. "
                            "Both sides agreed on safe navigation and fewer strikes."),
        ("Outcomes", "Shipping lanes reopen next month."),
        ("Outcomes", "Ports get insurance support."),
        ("Next steps", "Talks continue in Istanbul & Geneva."),
    ]
    assert doc.meta.sections == ("Black Sea Talks", "Outcomes", "Next steps")
    text = " ".join(p.text for p in doc.paragraphs)
    assert "https://" not in text and "ceasefire" not in text and "grain" not in text
    link = doc.paragraphs[0]
    s, e = link.raw_span(link.text.index("the order"), link.text.index("the order") + 9)
    assert raw[s:e] == "the order"
    s, e = link.raw_span(0, len(link.text))
    assert raw[s:].startswith("The delegations") and raw[:e].endswith("**fewer strikes**.")
    amp = doc.paragraphs[-1]
    s, _ = amp.raw_span(amp.text.index("&"), amp.text.index("&") + 1)
    assert raw[s:].startswith("&amp;")
    _assert_exact(doc, raw)
    chunks = chunk_document(doc, ChunkSettings())
    assert {c.section for c in chunks} == {"Black Sea Talks", "Outcomes", "Next steps"}
    assert not any("not prose" in s.text for c in chunks for s in c.sentences)


def test_markdown_keeps_corpus_conventions(tmp_path: Path) -> None:
    """A FIELD header is metadata, a later TITLE: opens a section, an indented line is text."""
    path = tmp_path / "order.md"
    path.write_text(
        "TITLE: The Order\nDATE: 2025-08-06\n\nBy the authority vested in me, I order this.\n\n"
        "                             DONALD J. TRUMP\n\n"
        "========\n\nTITLE: Fact Sheet\nISSUED BY: The White House\n\n"
        "**ADDRESSING AN EMERGENCY:** Today the President signed it.\n",
        encoding="utf-8",
    )
    doc = load_document(path, tmp_path)
    assert doc.meta.title == "The Order" and doc.meta.date == "2025-08-06"
    assert [(p.section, p.text) for p in doc.paragraphs] == [
        (None, "By the authority vested in me, I order this."),
        (None, "DONALD J. TRUMP"),
        ("Fact Sheet", "ADDRESSING AN EMERGENCY: Today the President signed it."),
    ]
    _assert_exact(doc, source_text(path))


@pytest.mark.parametrize("after", [".\nMore text.", ", and [a link](y) too."])
def test_text_after_an_image_keeps_its_own_offsets(tmp_path: Path, after: str) -> None:
    """An image is dropped with its destination: what follows is not placed inside the URL
    ("![alt](p.png)." once put the full stop at the dot of "p.png")."""
    path = tmp_path / "img.md"
    raw = f"Before ![alt [nested] text](p.png \"t\"){after}\n"
    path.write_text(raw, encoding="utf-8")
    doc = load_document(path, tmp_path)
    (paragraph,) = doc.paragraphs
    tail = raw.index(")") + 1
    assert all(at < raw.index("![") or at >= tail for at in paragraph.positions)
    _assert_exact(doc, source_text(path))


# --- HTML ------------------------------------------------------------------------------------


@pytest.mark.parametrize("eol", ["\r", "\r\n", "\n"])
def test_html_offsets_survive_any_line_end(tmp_path: Path, eol: str) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(f"<p>alpha{eol}beta</p>{eol}<p>gamma delta</p>{eol}".encode())
    doc = load_document(path, tmp_path)
    raw = source_text(path)
    assert [p.text for p in doc.paragraphs] == ["alpha beta", "gamma delta"]
    first, second = doc.paragraphs
    s, e = second.raw_span(0, len(second.text))
    assert raw[s:e] == "gamma delta"
    s, e = first.raw_span(0, len(first.text))
    assert raw[s:e] == f"alpha{eol}beta"
    _assert_exact(doc, raw)


# --- end to end: indexed, retrieved, offsets intact ---------------------------------------------


@pytest.mark.slow
def test_retrieved_passages_reproduce_source_text(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "ru.txt").write_bytes(RUSSIAN.encode("cp1251"))
    (corpus / "talks.md").write_bytes(MARKDOWN.replace("\n", "\r\n").encode())
    (corpus / "page.html").write_bytes(
        b"<h1>Port report</h1><p>alpha\rbeta</p>\n<p>gamma delta: the grain ships sailed from "
        b"Odesa at dawn.</p>"
    )
    settings = qa.Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "index")
    report = qa.reindex(settings, progress=False)
    assert not report.skipped, report.skipped
    seen: dict[str, set[str | None]] = {}
    for query in ("Переговоры о судоходстве в Чёрном море", "safe navigation in Riyadh",
                  "Shipping lanes reopen", "grain ships sailed from Odesa", "Istanbul Geneva"):
        for p in qa.retrieve(query, k=10, settings=settings):
            assert qa.source_text(p.source, settings=settings)[p.start : p.end] == p.text
            seen.setdefault(p.source, set()).add(p.section)
    assert set(seen) == {"ru.txt", "talks.md", "page.html"}
    assert seen["talks.md"] == {"Black Sea Talks", "Outcomes", "Next steps"}
    assert seen["page.html"] == {"Port report"}
    russian = qa.retrieve("Стороны договорились о прекращении ударов", k=1, settings=settings)
    assert russian[0].source == "ru.txt" and "энергетическим" in russian[0].text
