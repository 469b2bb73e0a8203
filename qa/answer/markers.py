"""Quoted text must not carry bracketed numbers that would read as our ``[n]`` markers."""

from __future__ import annotations

from qa.models import MARKER


def neutralise_markers(text: str) -> str:
    """``[3]`` inside a quote becomes ``(3)``, so only the answer's own markers are ``[n]``."""
    return MARKER.sub(r"(\1)", text)
