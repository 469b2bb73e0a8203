"""Check a generated answer against the passages it was given, and cite verbatim.

A model's ``[n]`` only says "passage n". Verification turns each one into a quote: the stored
sentence of passage n that best supports the claim the marker follows (cosine of the claim's
embedding to the sentence's, plus word overlap), so every citation is a verbatim span of a source
and ``source_text[start:end] == quote`` holds by construction. Markers naming no passage, or a
passage with nothing close to the claim, are dropped; sentences that name figures or names found
in no passage, or that read like injected instructions, are removed; markers are renumbered in
order of first appearance. An answer left with no citation is an abstention.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from qa.answer.claims import missing_terms
from qa.answer.prompts import REFUSAL, PromptPassage
from qa.index.lexical import tokenize
from qa.ingest.roles import looks_injected
from qa.ingest.sentences import split_sentences as sentence_spans
from qa.models import Citation

if TYPE_CHECKING:
    from qa.index.opened import OpenedIndex

MIN_SUPPORT = 0.25  # 0.7 * cosine + 0.3 * overlap below this: the passage does not back the claim
SHORT_CLAIM_TOKENS = 3  # shorter claims ("Yes [1].") are matched together with the question
_REF = r"(?:(?:passage|source|doc(?:ument)?)\s*)?\d{1,3}"
MARKER = re.compile(
    rf"\[\s*({_REF}(?:\s*(?:[,;]|[-–])\s*{_REF})*)\s*\]", re.IGNORECASE
)
_MARKER_RUN = rf"(?:\s*{MARKER.pattern})+"
_TRAILING = re.compile(rf"([.!?]+)({_MARKER_RUN})", re.IGNORECASE)
_REFUSALS = (
    REFUSAL.lower().rstrip("."),
    "the sources don't say",
    "the passages do not say",
    "the passages do not contain",
    "the sources do not contain",
)

NO_ANSWER = "The sources do not say: the passages found do not answer this question."
NO_CITATION = (
    "The sources do not say: the generated answer cited none of the passages found in a way "
    "that checks out, so it is not shown."
)


@dataclass(frozen=True)
class Verified:
    """A checked answer: text with renumbered markers and its citations, or an abstention."""

    text: str
    citations: list[Citation]
    abstained: bool
    dropped_markers: int = 0  # markers removed (no such passage, or no support in it)
    dropped_sentences: list[str] = field(default_factory=list)  # unsupported or injected

    @property
    def notice(self) -> str | None:
        if self.abstained or not (self.dropped_markers or self.dropped_sentences):
            return None
        parts = []
        if self.dropped_sentences:
            n = len(self.dropped_sentences)
            parts.append(f"{n} sentence{'s' * (n != 1)} the passages do not support")
        if self.dropped_markers:
            n = self.dropped_markers
            parts.append(f"{n} citation{'s' * (n != 1)} that did not check out")
        return "Removed from the generated answer: " + " and ".join(parts) + "."


def is_refusal(text: str) -> bool:
    """Does the model say the passages hold no answer (at the start of its reply)?"""
    head = " ".join(MARKER.sub(" ", text).lower().replace("’", "'").split())[:80]
    return any(phrase in head for phrase in _REFUSALS)


def marker_numbers(group: str) -> list[int]:
    """``"1, 3-4"`` -> ``[1, 3, 4]`` (small ranges only)."""
    out: list[int] = []
    for part in re.split(r"[,;]", group):
        nums = [int(n) for n in re.findall(r"\d+", part)]
        if len(nums) == 2 and 0 < nums[1] - nums[0] <= 5:
            nums = list(range(nums[0], nums[1] + 1))
        out.extend(n for n in nums if n not in out)
    return out


def split_sentences(text: str) -> list[str]:
    """Sentences of the answer, each followed by its own markers (moved before the full stop)."""
    text = _TRAILING.sub(lambda m: m.group(2) + m.group(1), text)
    return [text[s:e].strip() for s, e in sentence_spans(text) if text[s:e].strip()]


def strip_markers(text: str) -> str:
    return " ".join(MARKER.sub(" ", text).split())


def verify(
    engine: OpenedIndex, question: str, raw: str, passages: list[PromptPassage]
) -> Verified:
    """Verify ``raw`` (the model's answer to ``question`` over numbered ``passages``)."""
    raw = raw.strip()
    if not raw or is_refusal(raw):
        return Verified(text=NO_ANSWER, citations=[], abstained=True)
    by_number = {p.number: p for p in passages}
    haystack = " ".join(f"{p.title} {p.text}" for p in passages).lower()
    sentences = split_sentences(raw)
    wanted = {
        n for s in sentences for g in MARKER.finditer(s) for n in marker_numbers(g.group(1))
        if n in by_number
    }
    support = _Support(engine, question, [by_number[n] for n in sorted(wanted)])
    numbering: dict[tuple[str, int, int], int] = {}
    citations: list[Citation] = []
    kept: list[str] = []
    dropped_sentences: list[str] = []
    dropped_markers = 0

    for sentence in sentences:
        claim = strip_markers(sentence)
        if not claim.strip(" .!?"):
            continue
        if looks_injected(claim) or missing_terms(claim, haystack):
            dropped_sentences.append(claim)
            dropped_markers += len(MARKER.findall(sentence))
            continue

        def renumber(match: re.Match[str], claim: str = claim) -> str:
            nonlocal dropped_markers
            out = []
            for n in marker_numbers(match.group(1)):
                citation = support.best(n, claim) if n in by_number else None
                if citation is None:
                    dropped_markers += 1
                    continue
                key = (citation.source, citation.start, citation.end)
                if key not in numbering:
                    numbering[key] = len(citations) + 1
                    citations.append(citation)
                marker = f"[{numbering[key]}]"
                if marker not in out:
                    out.append(marker)
            return " " + "".join(out) if out else ""

        kept.append(_tidy(MARKER.sub(renumber, sentence)))

    if not citations:
        return Verified(
            text=NO_CITATION, citations=[], abstained=True,
            dropped_markers=dropped_markers, dropped_sentences=dropped_sentences,
        )
    return Verified(
        text=" ".join(kept), citations=citations, abstained=False,
        dropped_markers=dropped_markers, dropped_sentences=dropped_sentences,
    )


def _tidy(text: str) -> str:
    text = re.sub(r"\s+", " ", text)
    return re.sub(r"\s+([.,;:!?])", r"\1", text).strip()


class _Support:
    """Best supporting stored sentence of a passage for a claim (sentences fetched once)."""

    def __init__(self, engine: OpenedIndex, question: str, passages: list[PromptPassage]) -> None:
        self.engine = engine
        self.question = question
        self.passages = {p.number: p for p in passages}
        stored = engine.sentences(list({p.chunk_id for p in passages}))
        self.sentences = {
            chunk_id: [(s.start, s.end, s.text, s.vector) for s in sentences]
            for chunk_id, sentences in stored.items()
        }

    def best(self, number: int, claim: str) -> Citation | None:
        passage = self.passages[number]
        probe = claim
        if len(tokenize(claim)) < SHORT_CLAIM_TOKENS:
            probe = f"{self.question} {claim}"
        vector = self.engine.embedder.encode_query(probe)
        tokens = set(tokenize(probe))
        candidates = self.sentences.get(passage.chunk_id) or []
        best: tuple[float, int, int] | None = None
        for start, end, text, svec in candidates:
            score = 0.7 * float(np.dot(vector, svec)) + 0.3 * _overlap(tokens, text)
            if best is None or score > best[0]:
                best = (score, start, end)
        if best is None:  # no stored sentences: cite the whole passage
            ptext = passage.text
            score = 0.7 * float(np.dot(vector, self.engine.embedder.encode_query(ptext)))
            best = (score + 0.3 * _overlap(tokens, ptext), passage.start, passage.end)
        score, start, end = best
        if score < MIN_SUPPORT:
            return None
        return Citation(
            source=passage.source, title=passage.title, section=passage.section,
            quote=self.engine.source_text(passage.source)[start:end], start=start, end=end,
        )


def _overlap(tokens: set[str], text: str) -> float:
    return len(tokens & set(tokenize(text))) / (len(tokens) or 1)
