"""Synthetic corpora and vectors for ``python -m evals.bench``, made from the real corpus.

Prose comes from a word-level Markov chain trained on the corpus (so word frequencies, sentence
lengths and vocabulary look like the policy prose the system serves), as ~50-chunk Markdown
documents with sections. For the search-only benchmark, chunk records are made as the indexer
would store them, with vectors that mix real sentence embeddings (``VectorMixer``).
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
CHUNKS_PER_DOC = 50
BASIS_SENTENCES = 2000  # real corpus sentences embedded once; synthetic vectors mix them
MIX = 3  # basis vectors per synthetic chunk vector
NOISE = 0.25  # norm of the Gaussian noise added to a mix (the mix itself has norm <= 1)

class Markov:
    """An order-2 word chain over the corpus's sentences; generates sentences of real length."""

    def __init__(self, texts: list[str], seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.next: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.starts: list[tuple[str, str]] = []
        for text in texts:
            for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z])", " ".join(text.split())):
                words = sentence.split()
                if len(words) < 6 or not re.search(r"[.!?]$", words[-1]):
                    continue
                self.starts.append((words[0], words[1]))
                chain = ["", "", *words, "\x00"]
                for i in range(2, len(chain) - 1):
                    self.next[(chain[i - 1], chain[i])].append(chain[i + 1])

    def sentence(self) -> str:
        for _ in range(20):
            a, b = self.rng.choice(self.starts)
            words = [a, b]
            while len(words) < 70:
                nxt = self.rng.choice(self.next.get((a, b)) or ["\x00"])
                if nxt == "\x00":
                    break
                words.append(nxt)
                a, b = b, nxt
            if 6 <= len(words) < 70 and re.search(r"[.!?]$", words[-1]):
                return " ".join(words)
        return " ".join(words).rstrip(".") + "."

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(2, 4)))


def corpus_texts() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(CORPUS.iterdir())
            if p.suffix in (".txt", ".md")]


def write_synthetic(dest: Path, chunks: int, chain: Markov) -> int:
    """Write documents of about ``CHUNKS_PER_DOC`` chunks each, ``chunks`` in all; returns
    the number of documents."""
    dest.mkdir(parents=True, exist_ok=True)
    docs = max(1, round(chunks / CHUNKS_PER_DOC))
    per_doc = max(1, chunks // docs)
    for d in range(docs):
        n = per_doc + (1 if d < chunks - per_doc * docs else 0)
        (dest / f"doc-{d:05d}.md").write_text(synthetic_document(d, n, chain), encoding="utf-8")
    return docs


def synthetic_document(d: int, chunks: int, chain: Markov) -> str:
    """A Markdown document whose paragraphs are ~one chunk each (one to three sentences long
    paragraphs of 250-480 chars), under a title and a few ``##`` sections."""
    out = [f"# Synthetic report {d}: {chain.sentence()[:60]}", ""]
    section_every = max(5, chunks // 4)
    for i in range(chunks):
        if i % section_every == 0:
            out += [f"## Section {i // section_every + 1}: {chain.sentence()[:50]}", ""]
        para = chain.sentence()
        while len(para) < 250:
            para += " " + chain.sentence()
        while len(para) > 480:
            para = chain.sentence()
        out += [para, ""]
    return "\n".join(out)


def revise_a_paragraph(text: str) -> str:
    """The document with a sentence added to its middle body paragraph (not a heading): an
    everyday edit, which shifts every later chunk."""
    paragraphs = text.split("\n\n")
    body = [i for i, p in enumerate(paragraphs) if p.strip() and not p.lstrip().startswith("#")]
    i = body[len(body) // 2] if body else 0
    paragraphs[i] = "This paragraph was revised for the bench. " + paragraphs[i]
    return "\n\n".join(paragraphs)


def vector_note(real: int, generated: int) -> str:
    return (
        f"synthetic vectors: each chunk vector is a normalised random mix of {MIX} of "
        f"{real + generated} basis sentences ({real} real corpus sentences + {generated} Markov "
        f"sentences) embedded once by the real model, plus Gaussian noise of norm {NOISE}; each "
        "sentence vector (stored with its chunk) is its chunk's mix plus half of one more basis "
        "vector and noise. Texts, metadata, the collection and BM25 are real; only the corpus is "
        "not run through the model."
    )


def real_sentences(limit: int, seed: int = 5) -> list[str]:
    """Up to ``limit`` sentences of the real corpus (the basis of the synthetic vectors)."""
    from qa.ingest.chunking import split_sentences

    out: list[str] = []
    for text in corpus_texts():
        for para in re.split(r"\n\s*\n", text):
            para = " ".join(para.split())
            out.extend(para[s:e] for s, e in split_sentences(para) if 20 <= e - s <= 600)
    unique = sorted(set(out))
    random.Random(seed).shuffle(unique)
    return unique[:limit]


class VectorMixer:
    """Cheap, realistically distributed unit vectors: mixes of real sentence embeddings."""

    def __init__(self, basis: Any, seed: int = 11) -> None:
        import numpy as np

        self.np = np
        self.basis = basis
        self.rng = np.random.default_rng(seed)

    def _noise(self, rows: int) -> Any:
        noise = self.rng.standard_normal((rows, self.basis.shape[1])).astype("float32")
        return noise * (NOISE / self.np.linalg.norm(noise, axis=1, keepdims=True))

    def mixes(self, rows: int) -> Any:
        """Un-normalised mixes (chunk "topics") before noise."""
        picks = self.rng.integers(0, len(self.basis), size=(rows, MIX))
        weights = self.rng.dirichlet(self.np.ones(MIX), size=rows).astype("float32")
        return self.np.einsum("rm,rmd->rd", weights, self.basis[picks])

    def unit(self, mixes: Any, extra: float = 0.0) -> Any:
        out = mixes + self._noise(len(mixes))
        if extra:
            out += extra * self.basis[self.rng.integers(0, len(self.basis), size=len(mixes))]
        return out / self.np.linalg.norm(out, axis=1, keepdims=True)


def synthetic_chunk_batch(first: int, count: int, chain: Markov) -> list[dict[str, Any]]:
    """Chunks ``first .. first+count-1`` as the indexer would store them: ~one paragraph of
    250-480 chars, sentences split by the real splitter, offsets into a synthetic document of
    ``CHUNKS_PER_DOC`` chunks under a few sections."""
    from qa.index.records import embed_text
    from qa.ingest.chunking import chunk_id, split_sentences

    out = []
    for i in range(first, first + count):
        doc, pos = divmod(i, CHUNKS_PER_DOC)
        text = chain.sentence()
        while len(text) < 250:
            text += " " + chain.sentence()
        while len(text) > 480:
            text = chain.sentence()
        section = f"Section {pos // 12 + 1}"
        source = f"doc-{doc:05d}.md"
        start = 100 + pos * 500  # a paragraph per 500 chars of the synthetic document
        cid = chunk_id(source, text, f"Synthetic report {doc}", section, i)
        quotes = [(start + s, start + e, s, e) for s, e in split_sentences(text)]
        out.append({
            "id": cid, "embed_text": embed_text(text, section), "source": source,
            "sentences": quotes,
            "metadata": {
                "chunk_id": cid, "source": source, "title": f"Synthetic report {doc}",
                "section": section, "start": start, "end": start + len(text), "text": text,
                "sentences": len(quotes), "quotes": json.dumps(quotes),
            },
        })
    return out


