"""Bytes of a text file to its source text, the one reading every offset points into.

UTF-8 (a BOM stays in the text as U+FEFF, so offsets count it) and UTF-16 with a BOM are read as
such. Anything else is detected with charset-normalizer (a Windows-1251 Russian text reads as
Russian, not as Windows-1252 mojibake) and decoded strictly in the detected encoding, with a
warning naming it. Detection is deterministic, so loading a file and ``source_text`` later agree
character for character. Binary data (NUL bytes, control characters, no plausible encoding) is
refused with a reason.
"""

from __future__ import annotations

from qa.ingest.files import SkippedDocument

# When several encodings explain the bytes about equally well (short texts; Latin letters shared
# by several code pages: charset-normalizer reads a short French note as Mac Central European),
# the code page most text is written in wins. "About equally": mess ratios within this margin.
CHAOS_MARGIN = 0.025
PREFERRED_ENCODINGS = (
    "cp1252", "cp1251", "cp1250", "koi8_r", "iso8859_15", "latin_1", "cp1253", "cp1254",
    "cp1257", "iso8859_2", "koi8_u", "cp1255", "cp1256", "mac_roman", "cp866",
)


def decode(data: bytes, name: str, warnings: list[str]) -> str:
    """The source text of ``data``; a non-UTF-8 reading adds a warning to ``warnings``."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise SkippedDocument(f"broken UTF-16 text ({exc.reason})") from exc
    if b"\x00" in data[:8192]:
        raise SkippedDocument("binary content (NUL bytes) in a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        encoding = detect_encoding(data)
        if encoding is None:
            raise SkippedDocument(f"not UTF-8 and not readable text ({exc.reason})") from exc
        text = data.decode(encoding)
        warnings.append(f"{name}: not valid UTF-8 ({exc.reason} at byte {exc.start}); "
                        f"read as {encoding} (detected), offsets refer to that reading")
    head = text[:8192]
    controls = sum(1 for ch in head if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    if controls > max(8, len(head) // 20):
        raise SkippedDocument("binary content (control characters) in a text file")
    return text


def detect_encoding(data: bytes) -> str | None:
    """The Python codec charset-normalizer finds for ``data`` (None: not text)."""
    from charset_normalizer import from_bytes  # only non-UTF-8 files pay for the import

    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        return None
    tied: list[str] = []
    for match in matches:
        if match.chaos <= best.chaos + CHAOS_MARGIN:
            tied.extend(match.could_be_from_charset or [match.encoding])
    rank = {enc: i for i, enc in enumerate(PREFERRED_ENCODINGS)}
    choice = min(tied, key=lambda enc: rank.get(enc, len(rank)), default=best.encoding)
    try:
        data.decode(choice)
    except (UnicodeDecodeError, LookupError):
        choice = best.encoding
        try:
            data.decode(choice)
        except (UnicodeDecodeError, LookupError):
            return None
    return choice
