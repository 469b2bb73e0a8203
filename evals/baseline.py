"""A naive LangChain RAG baseline: fixed-size chunks, one Chroma collection, top-k search.

It indexes the same documents as ``qa`` from the same raw text (``qa.source_text``), so its
chunk offsets are comparable with qa's passages and citations. Its "answer" is its top chunk
and it never abstains: the figures show what qa's cleaning, hybrid retrieval and extractive
answering add over the tutorial recipe.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200


@dataclass(frozen=True, kw_only=True)
class Hit:
    """One retrieved baseline chunk, as offsets into the source text."""

    source: str
    start: int
    end: int
    text: str


def _uncached(base: type) -> type:
    """The adapter without the shared query-vector cache.

    qa.ask embeds the same question just before, so a cache hit would time the baseline's
    search without its query embedding and flatter it in the latency ratio.
    """

    class Uncached(base):
        def embed_query(self, text: str) -> list[float]:
            return [float(x) for x in self.embedder.encode([text])[0]]

    return Uncached


class NaiveBaseline:
    """RecursiveCharacterTextSplitter + langchain_chroma.Chroma (temp dir) + MiniLM."""

    def __init__(self, texts: Mapping[str, str]) -> None:
        """Split and embed ``texts`` (source -> raw text) into a throwaway Chroma collection."""
        from langchain_chroma import Chroma
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from qa.index.embedder import LangChainEmbeddings, shared_embedder

        self._dir = tempfile.TemporaryDirectory(prefix="qa-baseline-", ignore_cleanup_errors=True)
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP, add_start_index=True
        )
        sources = sorted(texts)
        docs = splitter.create_documents(
            [texts[s] for s in sources], metadatas=[{"source": s} for s in sources]
        )
        self.chunks = len(docs)
        started = time.perf_counter()
        self.store: Any = Chroma(
            collection_name="baseline",
            embedding_function=_uncached(LangChainEmbeddings)(shared_embedder()),
            persist_directory=self._dir.name,
        )
        if docs:
            self.store.add_documents(docs)
        self.build_seconds = time.perf_counter() - started

    def search(self, query: str, k: int) -> list[Hit]:
        """The ``k`` most similar chunks, best first."""
        docs = self.store.similarity_search(query, k=k)
        hits = []
        for d in docs:
            start = int(d.metadata["start_index"])
            hits.append(
                Hit(
                    source=str(d.metadata["source"]),
                    start=start,
                    end=start + len(d.page_content),
                    text=d.page_content,
                )
            )
        return hits

    def close(self) -> None:
        """Drop the temporary collection."""
        self._dir.cleanup()

    def __enter__(self) -> NaiveBaseline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
