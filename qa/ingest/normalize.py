"""Text folded for MATCHING only: decisions are made on it, offsets never come from it.

``fold`` applies NFKC, drops format characters (zero-width spaces and joiners, soft hyphens,
bidi controls, BOM), strips combining marks, maps letters that look Latin (Cyrillic, Greek,
Armenian, Cherokee, Coptic, Lisu, Latin small capitals) to ASCII, unwraps Markdown/HTML markup,
re-joins words spelled out letter by letter ("I g n o r e") and collapses whitespace.
``fold_with_offsets`` also returns, for each folded character, the index of the original
character it came from, so a span found in folded text maps back to the original.

The confusables table is a reviewed subset of Unicode's confusables.txt (UTS #39, as shipped in
the ``confusable-homoglyphs`` package): letters of those scripts whose prototype is one ASCII
letter, with capital look-alikes of "I" mapped to "I" (the skeleton maps them to "l").
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

# Letters that look like one ASCII letter -> that letter (source and target strings, one to one).
_CONFUSABLE_PAIRS = (
    # Latin extensions, small capitals and IPA letters
    ("ıƄƍƖƦƽǀɑɡɣɩɪɯʋʏᴄᴏᴑᴜᴠᴡᴢᶃᶌẝỿꜱꞘꞙꞟꞲꞳꞴꬲꬵꬽꭇꭈꭎꭒꭚ",
     "ibgIRslagyiiwuycoouvwzgyfysFfuJXBeforruuy"),
    # Greek
    ("ͺͿΑΒΕΖΗΙΚΜΝΟΡΤΥΧαγινορσυϒϜϱϲϳϹϺᴦικω",
     "iJABEZHIKMNOPTYXayivopouYFpcjCMrikw"),
    # Cyrillic
    ("ЅІЈАВЕКМНОРСТУХЬагеорсухѕіјѡѴѵҮүһҽӀӏԁԌԛԜԝꙇк",
     "SIJABEKMHOPCTYXbareopcyxsijwVvYyheIidGqWwik"),
    # Cherokee
    ("ᎠᎡᎢᎥᎩᎪᎫᎬᎳᎷᎻᎽᏀᏂᏃᏏᏒᏔᏕᏙᏚᏞᏟᏢᏦᏧᏳᏴꭵꮁꮃꮓꮩꮪꮯ",
     "DRTiYAJEWMHYGhZbRWSVSLCPKdGBirwzvsc"),
    # Coptic
    ("ⲅⲎⲒⲔⲘⲚⲞⲟⲢⲣⲤⲥⲦⲨⲬⳐ", "rHIKMNOoPpCcTYXL"),
    # Lisu
    ("ꓐꓑꓒꓓꓔꓖꓗꓙꓚꓜꓝꓟꓠꓡꓢꓣꓦꓧꓪꓫꓬꓮꓰꓲꓳꓴ", "BPdDTGKJCZFMNLSRVHWXYAEIOU"),
    # Armenian
    ("ՍՏՕագզհոռսցքօ", "USOwqqhnnugfo"),
)


def _confusables() -> dict[str, str]:
    table: dict[str, str] = {}
    for source, target in _CONFUSABLE_PAIRS:
        for s, t in zip(source, target, strict=True):
            table.setdefault(s, t)
    return table


CONFUSABLES: dict[str, str] = _confusables()
# Typographic quotes and dashes read as their ASCII forms.
CONFUSABLES.update({c: "'" for c in "‘’‛′‵ʼ"})
CONFUSABLES.update({c: '"' for c in "“”„‟″‶"})
CONFUSABLES.update({c: "-" for c in "‐‑‒–—―−"})

_SPACES = re.compile(r"\s+")
# Markup that wraps text: tags, comment markers, emphasis, code ticks, quote and heading marks.
_MARKUP = re.compile(
    r"<!--|-->|</?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>|(?<![\w*])\*{1,3}|\*{1,3}(?![\w*])"
    r"|(?<![\w])_{1,3}(?=\S)|(?<=\S)_{1,3}(?![\w])|`+|^\s*(?:>\s*)+|^\s*#{1,6}\s+|~~"
)
_QUOTE_LINE = re.compile(r"(?<=\s)>\s+")  # blockquote marks of later lines, joined by cleaning
_ENTITY = re.compile(r"&(?:[A-Za-z]{2,8}|#\d{1,6}|#x[0-9A-Fa-f]{1,6});")
# Four or more single letters separated by one space, dot, hyphen or underscore: "I g n o r e".
_SPELLED = re.compile(r"(?<![\w.])(?:[A-Za-z][ ._-](?=[A-Za-z]\b)){3,}[A-Za-z](?![\w])")


@lru_cache(maxsize=8192)
def _fold_char(ch: str, confusables: bool = True) -> str:
    """One character folded: NFKC, no format characters or combining marks, confusables."""
    if unicodedata.category(ch) in ("Cf", "Mn", "Me"):
        return ""
    out = unicodedata.normalize("NFKC", ch)
    decomposed = unicodedata.normalize("NFKD", out)
    if any(unicodedata.combining(c) for c in decomposed):
        bare = "".join(c for c in decomposed if not unicodedata.combining(c))
        out = unicodedata.normalize("NFC", bare)
    out = "".join(c for c in out if unicodedata.category(c) != "Cf")
    return "".join(CONFUSABLES.get(c, c) for c in out) if confusables else out


_LETTERS = re.compile(r"[^\W\d_]+")


def _foreign_words(text: str) -> list[bool]:
    """Per character: whether it sits in a word of another script that is not a disguise
    (no Latin letter in it and some letter with no Latin look-alike: "Москва", not "Іgnоrе")."""
    flags = [False] * len(text)
    for m in _LETTERS.finditer(text):
        word = m.group()
        if word.isascii() or any(c.isascii() for c in word):
            continue
        if all(c in CONFUSABLES or _fold_char(c, False).isascii() for c in word):
            continue
        for i in range(m.start(), m.end()):
            flags[i] = True
    return flags


def _map_chars(text: str) -> tuple[str, list[int]]:
    out: list[str] = []
    pos: list[int] = []
    foreign = _foreign_words(text)
    for i, ch in enumerate(text):
        if ch.isascii():
            out.append(ch)
            pos.append(i)
            continue
        folded = _fold_char(ch, not foreign[i])
        out.append(folded)
        pos.extend([i] * len(folded))
    return "".join(out), pos


def _rewrite(
    text: str, pos: list[int], pattern: re.Pattern[str], repl: object
) -> tuple[str, list[int]]:
    """Apply ``pattern`` -> ``repl`` (a string or a function of the match), keeping the map:
    every replacement character maps to the original index of its match's first character."""
    out: list[str] = []
    new_pos: list[int] = []
    last = 0
    for m in pattern.finditer(text):
        s, e = m.span()
        out.append(text[last:s])
        new_pos.extend(pos[last:s])
        rep = repl(m) if callable(repl) else str(repl)
        if rep == m.group():
            out.append(rep)
            new_pos.extend(pos[s:e])
        elif rep:
            out.append(rep)
            anchor = pos[s] if s < len(pos) else (pos[-1] if pos else 0)
            # a deletion inside the match (spelled-out words) keeps the kept letters' offsets
            kept = [pos[s + i] for i, c in enumerate(m.group()) if not c.isspace() and c.isalnum()]
            if len(kept) == len(rep):
                new_pos.extend(kept)
            else:
                new_pos.extend([anchor] * len(rep))
        last = e
    out.append(text[last:])
    new_pos.extend(pos[last:])
    return "".join(out), new_pos


def fold_with_offsets(text: str, *, strip_markup: bool = True) -> tuple[str, list[int]]:
    """Folded ``text`` and, for each of its characters, the index of its original character."""
    folded, pos = _map_chars(text) if not text.isascii() else (text, list(range(len(text))))
    if "&" in folded:
        folded, pos = _rewrite(folded, pos, _ENTITY, lambda m: _fold_entity(m.group()))
    if strip_markup:
        folded, pos = _rewrite(folded, pos, _MARKUP, "")
        folded, pos = _rewrite(folded, pos, _QUOTE_LINE, "")
    folded, pos = _rewrite(folded, pos, _SPELLED, lambda m: re.sub(r"[ ._-]", "", m.group()))
    folded, pos = _rewrite(folded, pos, _SPACES, " ")
    start = len(folded) - len(folded.lstrip())
    end = len(folded.rstrip())
    return folded[start:end], pos[start:end]


def _fold_entity(entity: str) -> str:
    return "".join(_fold_char(c) if not c.isascii() else c for c in html.unescape(entity))


@lru_cache(maxsize=8192)
def fold(text: str, *, strip_markup: bool = True) -> str:
    """``text`` normalised for matching and classification (never for offsets). Cached: index
    time asks for the same sentence and every section heading many times over."""
    return fold_with_offsets(text, strip_markup=strip_markup)[0]


_KEY_WORD = re.compile(r"[a-z0-9]+")


@lru_cache(maxsize=8192)
def match_key(text: str) -> str:
    """Lower-case words of the folded text, single-spaced: equal keys read as the same line."""
    return " ".join(_KEY_WORD.findall(fold(text).lower()))
