"""The embedder: both runtimes agree with sentence-transformers, and late-chunked sentence
vectors come from the chunk's own model pass."""

from __future__ import annotations

import numpy as np
import pytest

from qa.index.embedder import DIM, Embedder, model_path

TEXTS = [
    "Trump's team is reportedly open to the possibility of territorial concessions from Ukraine.",
    "The Black Sea talks took place in Riyadh. Navigation is safe.",
    "Growth reached 87.3% in 2024, according to Dr. J. R. Smith of the U.N. agency.",
    "Short.",
]


@pytest.fixture(scope="module")
def onnx() -> Embedder:
    return Embedder(backend="onnx")


@pytest.fixture(scope="module")
def torch_embedder() -> Embedder:
    return Embedder(backend="torch")


def test_runtimes_match_sentence_transformers(onnx: Embedder, torch_embedder: Embedder) -> None:
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(model_path()), device="cpu", local_files_only=True)
    expected = reference.encode(TEXTS, normalize_embeddings=True)
    for embedder in (onnx, torch_embedder):
        got = embedder.encode(TEXTS)
        assert got.shape == (len(TEXTS), DIM)
        assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
        cosines = np.sum(got * expected, axis=1)
        assert cosines.min() > 0.99999, (embedder.backend, cosines)
    assert onnx.backend == "onnx" and torch_embedder.backend == "torch"


def test_chunk_pass_gives_sentence_vectors(onnx: Embedder, torch_embedder: Embedder) -> None:
    text = "Overview: The Black Sea talks took place in Riyadh. Navigation is safe."
    first = text.index("The Black")
    spans = [(first, text.index(" Navigation")), (text.index("Navigation"), len(text))]
    vectors, parts = onnx.encode_chunks([text, "Short."], [spans, []])
    assert vectors.shape == (2, DIM) and parts[0].shape == (2, DIM) and parts[1].shape == (0, DIM)
    # The chunk vector is the ordinary embedding of the text.
    assert float(vectors[0] @ onnx.encode([text])[0]) > 0.99999
    # Each sentence vector is close to the sentence embedded alone, but carries its context.
    alone = onnx.encode([text[a:b] for a, b in spans])
    cosines = np.sum(parts[0] * alone, axis=1)
    assert (cosines > 0.6).all() and (cosines < 0.9999).all(), cosines
    assert float(parts[0][0] @ parts[0][1]) < 0.99  # two sentences, two vectors
    # Both runtimes compute the same sentence vectors.
    _, torch_parts = torch_embedder.encode_chunks([text], [spans])
    assert np.sum(torch_parts[0] * parts[0], axis=1).min() > 0.9999


def test_span_beyond_the_token_limit_is_embedded_alone(onnx: Embedder) -> None:
    text = "word " * 400 + "The final sentence stands here."
    tail = (text.index("The final"), len(text))
    _, parts = onnx.encode_chunks([text], [[(0, 4), tail]])
    assert parts[0].shape == (2, DIM)
    assert float(parts[0][1] @ onnx.encode([text[tail[0] : tail[1]]])[0]) > 0.99999


def test_beside_other_work_the_chunk_pass_keeps_to_one_core_and_gives_the_same_vectors(
    onnx: Embedder,
) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    texts = [t + " " + u for t in TEXTS for u in TEXTS]  # more than one small call
    spans = [[(0, len(t))] for t in texts]
    alone_vectors, alone_parts = onnx.encode_chunks(texts, spans)
    release = threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        busy = pool.submit(release.wait, 60)  # "spaCy", still annotating
        vectors, parts = onnx.encode_chunks(texts, spans, beside=busy)
        assert not busy.done()
        release.set()
    one_core = onnx.one_core_model
    assert one_core is not onnx.model and one_core.session.get_session_options(
    ).intra_op_num_threads == 1
    assert np.sum(vectors * alone_vectors, axis=1).min() > 0.99999
    assert min(float(a[0] @ b[0]) for a, b in zip(parts, alone_parts, strict=True)) > 0.99999
