"""The role of a sentence in its document, decided once at index time.

Only prose may be quoted as an answer. This module starts with the one role every layer needs
today: text that gives instructions to the reader or the assistant (an injection), which is
never quoted and never followed.
"""

from __future__ import annotations

import re

_INJECTION = re.compile(
    r"""(
      \b(ignore|disregard|forget|override|bypass)\b[^.?!]{0,40}\b(instruction|instructions|rules|
        prompt|guidelines|context|sources|documents|above|previous|prior|everything)\b
    | \byou\s+are\s+now\b | \bpretend\b | \bjailbreak\b | \broleplay\b
    | \bact\s+as\s+(if|though|an?\s+(ai|assistant|chatbot|model|unrestricted|different|\w+\s+
        spokes(man|woman|person)))\b
    | \b(as\s+your\s+(administrator|admin|developer|creator|owner))\b
    | \b(system|admin)\s+override\b | \bsources\s+are\s+disabled\b
    | \b(invent|make\s+up|fabricate)\b[^.?!]{0,30}\b(figures|facts|numbers|answer|sources)\b
    | \bfrom\s+your\s+own\s+knowledge\b | \b(hidden|secret)\s+instructions\b
    | \b(api|secret)\s+keys?\b | </\s*(context|system|passage|document)\s*>
    | \brepeat\s+the\s+(text|words|lines|message)\s+above\b
    | \bdo\s+what\s+(the|that)\s+(line|text|document)\s+says\b
    | \b(system|developer)\s+(prompt|message|mode)\b | \bnew\s+instructions?\b
    | \b(reply|respond|answer)\s+(only\s+)?with\b[^.?!]{0,60}
    | \b(answer|reply\s+to)\s+every\s+question\b | \bfrom\s+now\s+on\b
    | \b(print|reveal|show|output|repeat)\s+(your|the)\s+(system\s+)?(prompt|instructions)\b
    | \bdo\s+not\s+(cite|use\s+the\s+sources)\b | \bwithout\s+(citations|sources)\b
    | <\s*/?\s*(script|system|im_start|img)\b | \[\s*INST\s*\] | \#\#\#\s*(system|instruction)
    )""",
    re.IGNORECASE | re.VERBOSE,
)


def looks_injected(text: str) -> bool:
    """Whether ``text`` reads as instructions to the assistant rather than content."""
    return bool(_INJECTION.search(text))
