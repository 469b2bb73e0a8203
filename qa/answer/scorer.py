"""The reader's one calibrated scorer: logistic weights over ``qa.answer.features.FEATURES``.

The weights, the no-answer threshold and the share of the best probability a further quote
needs all come from ``reader_model.json``, written by ``python -m evals.fit_reader`` from the
dev split (``evals/dataset.jsonl``); nothing here is set by hand. Whether to answer at all is a
second fitted logistic model over question-level evidence: the no-answer probability
Π(1 − pᵢ) over the ``top_n`` best sentences (as Haystack's extractive reader), the best pᵢ and
the next one (a runner-up as likely as the best says the reader cannot tell them apart), and
how much of what the question names the retrieved passages cover at all.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.answer.features import FEATURES
from qa.errors import ConfigError

MODEL_PATH = Path(__file__).with_name("reader_model.json")
# The answer-or-abstain model reads two figures of the sentence probabilities and these
# features of the best sentence (the question-level ones are the same for every sentence).
ANSWER_CONTEXT = (
    "pool_cover", "rarest_in_pool", "corpus_cover", "constraints", "pool_constraints",
    "type_match", "grain", "counted", "topic_in_corpus", "rival", "rival_here", "dated_rival",
    "open",
)
ANSWER_FEATURES = ("no_answer_probability", "best_probability", "second_probability",
                   *ANSWER_CONTEXT)


@dataclass(frozen=True)
class ReaderModel:
    """Fitted logistic weights and the decision constants fitted with them."""

    weights: np.ndarray  # one per feature, in FEATURES order (standardised inputs)
    mean: np.ndarray
    scale: np.ndarray
    bias: float
    abstain_threshold: float  # abstain when the answer probability is below this
    top_n: int
    second_ratio: float  # a further quote needs this share of the best probability
    answer_weights: np.ndarray  # the answer-or-abstain model over ANSWER_FEATURES
    answer_mean: np.ndarray
    answer_scale: np.ndarray
    answer_bias: float

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        z = ((rows - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def answer_features(self, probabilities: Sequence[float], *context: float) -> np.ndarray:
        """The answer model's inputs, in ANSWER_FEATURES order."""
        return answer_inputs(probabilities, self.top_n, context)

    def answer_probability(self, probabilities: Sequence[float], *context: float) -> float:
        """Probability that the question is answerable from these candidates."""
        x = self.answer_features(probabilities, *context)
        z = float(((x - self.answer_mean) / self.answer_scale) @ self.answer_weights)
        return 1.0 / (1.0 + float(np.exp(-(z + self.answer_bias))))

    def no_answer(self, probabilities: Sequence[float], *context: Any) -> bool:
        """Abstain: the fitted answer probability is below the fitted threshold."""
        return self.answer_probability(probabilities, *context) < self.abstain_threshold


def answer_inputs(
    probabilities: Sequence[float], top_n: int, context: Sequence[float]
) -> np.ndarray:
    """The answer model's inputs in ANSWER_FEATURES order, for ``qa.ask`` and the fit alike:
    Π(1 − pᵢ) over the ``top_n`` best sentence probabilities, the best and the runner-up
    (0 when missing), then ``context``, the best sentence's ANSWER_CONTEXT features."""
    ranked = sorted(probabilities, reverse=True)
    no_answer = float(np.prod([1.0 - p for p in ranked[:top_n]]))  # 1.0 with no sentence
    best, second = [*ranked, 0.0, 0.0][:2]
    return np.asarray([no_answer, best, second, *context], dtype=np.float64)


def model_from_dict(data: dict[str, object]) -> ReaderModel:
    """A model from its JSON form; refuse one fitted for other features."""
    names = list(data.get("features", []))  # type: ignore[call-overload]
    answer_names = list(data.get("answer_features", []))  # type: ignore[call-overload]
    if names != list(FEATURES) or answer_names != list(ANSWER_FEATURES):
        raise ConfigError(
            "qa/answer/reader_model.json was fitted for other features; "
            "run `python -m evals.fit_reader` to fit it again"
        )
    return ReaderModel(
        weights=np.asarray(data["weights"], dtype=np.float64),
        mean=np.asarray(data["mean"], dtype=np.float64),
        scale=np.asarray(data["scale"], dtype=np.float64),
        bias=float(data["bias"]),  # type: ignore[arg-type]
        abstain_threshold=float(data["abstain_threshold"]),  # type: ignore[arg-type]
        top_n=int(data["top_n"]),  # type: ignore[call-overload]
        second_ratio=float(data["second_ratio"]),  # type: ignore[arg-type]
        answer_weights=np.asarray(data["answer_weights"], dtype=np.float64),
        answer_mean=np.asarray(data["answer_mean"], dtype=np.float64),
        answer_scale=np.asarray(data["answer_scale"], dtype=np.float64),
        answer_bias=float(data["answer_bias"]),  # type: ignore[arg-type]
    )


def model_available(path: Path = MODEL_PATH) -> bool:
    """Whether a model fitted for today's features exists (before the first fit, or after a
    feature is added, only features can be computed)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return (data.get("features") == list(FEATURES)
                and data.get("answer_features") == list(ANSWER_FEATURES))
    except (OSError, ValueError, AttributeError):
        return False


@functools.lru_cache(maxsize=1)
def load_model(path: Path = MODEL_PATH) -> ReaderModel:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"the reader's fitted model {path} is missing or unreadable ({exc}); "
            "run `python -m evals.fit_reader`"
        ) from exc
    return model_from_dict(data)
