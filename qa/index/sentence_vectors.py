"""The quotable sentences stored with each chunk record, their vectors packed as float16.

A chunk record's metadata lists its quotable sentences (``quotes``: raw start, raw end, and the
span inside the chunk text) and carries their vectors from the chunk's own model pass
(``vectors``: base64 float16), so no sentence is embedded per question.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa.errors import IndexBuildError
from qa.index.embedder import DIM


@dataclass(frozen=True)
class StoredSentence:
    chunk_id: str
    start: int
    end: int
    text: str
    vector: np.ndarray
    role: str = "prose"
    entities: tuple[tuple[str, int, int], ...] = ()  # (spaCy label, start, end) within text


def pack_vectors(vectors: np.ndarray) -> str:
    """Sentence vectors as base64 float16: ~0.8 kB a sentence, cosines within 1e-3."""
    return base64.b64encode(np.asarray(vectors, dtype="<f2").tobytes()).decode("ascii")


def unpack_sentences(chunk_id: str, text: str, metadata: dict[str, Any]) -> list[StoredSentence]:
    """The quotable sentences stored with a chunk record, in reading order."""
    quotes = json.loads(str(metadata.get("quotes") or "[]"))
    raw = base64.b64decode(str(metadata.get("vectors") or ""))
    vectors = np.frombuffer(raw, dtype="<f2").astype(np.float32).reshape(-1, DIM)
    vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
    if len(vectors) != len(quotes):
        raise IndexBuildError(f"chunk {chunk_id} has {len(quotes)} sentences, "
                              f"{len(vectors)} vectors")
    notes = json.loads(str(metadata.get("notes") or "[]")) or [["prose", []]] * len(quotes)
    return [
        StoredSentence(
            chunk_id, int(start), int(end), text[a:b], vec, role=str(role),
            entities=tuple((str(lb), int(x), int(y)) for lb, x, y in ents),
        )
        for (start, end, a, b), vec, (role, ents) in zip(
            quotes, vectors, notes, strict=True
        )
    ]
