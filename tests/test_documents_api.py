"""qa.add_document / qa.remove_document / qa.documents and `python -m qa add|remove|docs`,
over a real index in a temp dir."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import make_corpus

import qa

pytestmark = pytest.mark.slow

TIDES = "Tide Notes\n\nThe spring tide at Port Elwood reaches 4.2 metres in March.\n"
FERRY = "# Ferry Notes\n\nThe ferry to Gull Island leaves Port Elwood at 07:15 each morning.\n"


@pytest.fixture
def small(tmp_path: Path) -> qa.Settings:
    corpus = make_corpus(tmp_path / "corpus", {"tides.txt": TIDES})
    settings = qa.Settings.from_env(env={}, corpus_dir=corpus, index_dir=tmp_path / "index")
    qa.reindex(settings, progress=False)
    return settings


def _pdf(pages: list[str]) -> bytes:
    """A minimal PDF with one Helvetica text page per string (what pypdf can read back)."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", ""]
    kids = []
    font = 3
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for text in pages:
        lines = [t.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
                 for t in text.splitlines()]
        ops = "BT /F1 11 Tf 14 TL 60 780 Td " + " ".join(f"({t}) Tj T*" for t in lines) + " ET"
        objects.append(f"<< /Length {len(ops)} >>\nstream\n{ops}\nendstream")
        content = len(objects)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {content} 0 R "
            f"/Resources << /Font << /F1 {font} 0 R >> >> >>"
        )
        kids.append(len(objects))
    refs = " ".join(f"{k} 0 R" for k in kids)
    objects[1] = f"<< /Type /Pages /Kids [{refs}] /Count {len(kids)} >>"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    trailer = f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    out += trailer.encode()
    return bytes(out)


def test_add_ask_replace_remove(small: qa.Settings) -> None:
    first = qa.add_document("ferry.md", FERRY, settings=small)
    assert first == qa.DocumentChange(name="ferry.md", status="indexed", chunks=first.chunks)
    assert first.chunks >= 1
    assert (small.corpus_dir / "ferry.md").read_text(encoding="utf-8") == FERRY
    docs = {d.name: d for d in qa.documents(small)}
    assert docs["ferry.md"].status == "indexed" and docs["ferry.md"].chunks == first.chunks
    assert docs["tides.txt"].title == "Tide Notes"
    passages = qa.retrieve("When does the ferry leave?", k=1, settings=small,
                           sources=["ferry.md"])
    assert passages[0].source == "ferry.md"

    # same content: nothing re-embedded, the file not rewritten
    mtime = (small.corpus_dir / "ferry.md").stat().st_mtime_ns
    again = qa.add_document("ferry.md", FERRY.encode(), settings=small)
    assert again.status == "unchanged"
    assert (small.corpus_dir / "ferry.md").stat().st_mtime_ns == mtime

    changed = qa.add_document("ferry.md", FERRY.replace("07:15", "08:30"), settings=small)
    assert changed.status == "updated"
    assert [d.name for d in qa.documents(small)].count("ferry.md") == 1
    assert "08:30" in qa.source_text("ferry.md", small)

    (small.corpus_dir / "ferry.md.meta.json").write_text('{"title": "Ferry"}', encoding="utf-8")
    removed = qa.remove_document("ferry.md", settings=small)
    assert removed.status == "removed"
    assert not (small.corpus_dir / "ferry.md").exists()
    assert not (small.corpus_dir / "ferry.md.meta.json").exists()
    assert [d.name for d in qa.documents(small)] == ["tides.txt"]
    assert all(p.source != "ferry.md" for p in qa.retrieve("ferry", k=5, settings=small))
    with pytest.raises(qa.CorpusError, match="no document 'ferry.md'"):
        qa.remove_document("ferry.md", settings=small)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../x.txt", "is a path"),
        ("/etc/x.txt", "is a path"),
        ("sub\\x.txt", "is a path"),
        ("C:x.txt", "is a path"),
        ("..", "'..'"),
        ("a..b.txt", "'..'"),
        (".hidden.txt", "hidden"),
        ("bad\x00name.txt", "control characters"),
        ("tab\tname.txt", "control characters"),
        (" spaced.txt", "spaces"),
        ("", "empty"),
        ("notes.exe", "unsupported file type"),
        ("notes", "unsupported file type"),
        ("x.txt.meta.json", "sidecar"),
        ("README.md", "reserved"),
        ("n" * 300 + ".txt", "longer than"),
    ],
)
def test_bad_names_are_refused_and_nothing_is_written(
    small: qa.Settings, name: str, message: str
) -> None:
    before = sorted(os.listdir(small.corpus_dir))
    with pytest.raises(qa.CorpusError, match=message):
        qa.add_document(name, "Some text about tides.\n", settings=small)
    assert sorted(os.listdir(small.corpus_dir)) == before
    assert not (small.corpus_dir.parent / "x.txt").exists()


def test_content_is_checked_against_the_extension(small: qa.Settings) -> None:
    before = sorted(os.listdir(small.corpus_dir))
    with pytest.raises(qa.CorpusError, match="does not look like a PDF"):
        qa.add_document("fake.pdf", b"hello", settings=small)
    with pytest.raises(qa.CorpusError, match="holds a PDF"):
        qa.add_document("doc.txt", b"%PDF-1.4 ...", settings=small)
    with pytest.raises(qa.CorpusError, match="not a text file"):
        qa.add_document("bin.txt", bytes(range(256)) * 4, settings=small)
    with pytest.raises(qa.CorpusError, match="as bytes"):
        qa.add_document("doc.pdf", "%PDF-1.4", settings=small)
    with pytest.raises(qa.CorpusError, match="empty"):
        qa.add_document("blank.md", "  \n", settings=small)
    with pytest.raises(qa.CorpusError, match="bytes or str"):
        qa.add_document("n.txt", 42, settings=small)  # type: ignore[arg-type]
    # a PDF with no text layer: nothing to index, reported and not kept
    change = qa.add_document("scan.pdf", _pdf([""]), settings=small)
    assert change.status == "skipped" and change.reason
    assert sorted(os.listdir(small.corpus_dir)) == before


def test_size_cap_and_symlinks(
    small: qa.Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QA_MAX_UPLOAD_BYTES", "1000")
    with pytest.raises(qa.CorpusError, match="over the 1,000 bytes upload limit"):
        qa.add_document("big.txt", "word " * 300, settings=small)
    assert not (small.corpus_dir / "big.txt").exists()
    outside = tmp_path / "outside.txt"
    outside.write_text("outside\n", encoding="utf-8")
    (small.corpus_dir / "link.txt").symlink_to(outside)
    with pytest.raises(qa.CorpusError, match="symbolic link"):
        qa.add_document("link.txt", "replaced?\n", settings=small)
    assert outside.read_text(encoding="utf-8") == "outside\n"
    qa.remove_document("link.txt", settings=small)  # removes the link, never its target
    assert not (small.corpus_dir / "link.txt").is_symlink()
    assert outside.read_text(encoding="utf-8") == "outside\n"


def test_a_failed_sync_puts_the_old_file_back(
    small: qa.Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import qa.api

    qa.add_document("ferry.md", FERRY, settings=small)

    def broken(*args: object, **kwargs: object) -> None:
        raise qa.IndexBuildError("disk full")

    monkeypatch.setattr(qa.api, "reindex", broken)
    with pytest.raises(qa.IndexBuildError):
        qa.add_document("ferry.md", FERRY.replace("07:15", "09:00"), settings=small)
    with pytest.raises(qa.IndexBuildError):
        qa.add_document("new.md", "# New\n\nA new page about the harbour.\n", settings=small)
    monkeypatch.undo()
    assert (small.corpus_dir / "ferry.md").read_text(encoding="utf-8") == FERRY
    assert not (small.corpus_dir / "new.md").exists()
    assert not [n for n in os.listdir(small.corpus_dir) if n.startswith(".")]
    assert qa.index_status(small) == "fresh"  # the index still matches the corpus
    answer = qa.ask("When does the ferry leave Port Elwood?", settings=small)
    assert any(c.source == "ferry.md" for c in answer.citations) or answer.passages


def test_pdf_upload_is_indexed(small: qa.Settings) -> None:
    pages = [f"Page {i} of the harbour almanac.\nThe pilot boat number {i} is moored at "
             f"berth {i + 10}." for i in range(1, 4)]
    change = qa.add_document("almanac.pdf", _pdf(pages), settings=small)
    assert change.status == "indexed" and change.chunks >= 1
    text = qa.source_text("almanac.pdf", small)
    assert "berth 12" in text


def test_cli_add_docs_remove(small: qa.Settings, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    from qa.cli import main

    ferry = tmp_path / "ferry.md"
    ferry.write_text(FERRY, encoding="utf-8")
    bad = tmp_path / "bad.exe"
    bad.write_bytes(b"MZ")
    flags = ["--corpus-dir", str(small.corpus_dir), "--index-dir", str(small.index_dir)]
    assert main(["add", str(ferry), str(bad), "--quiet", *flags]) == 2
    out, err = capsys.readouterr()
    assert "indexed ferry.md (1 chunk)" in out and "unsupported file type" in err
    assert main(["docs", *flags]) == 0
    out, _ = capsys.readouterr()
    assert "ferry.md  [indexed]" in out and "tides.txt  [indexed]  Tide Notes" in out
    assert main(["remove", "ferry.md", *flags]) == 0
    assert main(["remove", "../tides.txt", *flags]) == 2
    assert "contains '..'" in capsys.readouterr().err
