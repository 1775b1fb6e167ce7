"""Sentence splitting that survives abbreviations, initials and the curly quotes of news copy."""

from __future__ import annotations

import re

# Tokens that end with a full stop but rarely end a sentence.
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt ft gen col lt sgt capt cmdr adm gov sen rep pres rev hon vs
    etc e.g i.e cf al approx dept est fig inc ltd co corp bros no nos vol jan feb mar apr jun
    jul aug sep sept oct nov dec mon tue wed thu fri sat sun u.s u.k u.n e.u a.m p.m""".split()
)
_OPENERS = "\"'“‘([«"
_CLOSERS = "\"'”’)]»"
# A candidate boundary: terminal punctuation, optional closing quotes/brackets, whitespace, then
# something that can start a sentence (a capital, a digit or an opening quote).
_BOUNDARY = re.compile(
    r"([.!?…]+)([" + re.escape(_CLOSERS) + r"]*)(\s+)(?=[" + re.escape(_OPENERS) + r"]?[A-Z0-9])"
)


def _ends_with_abbreviation(text_before: str) -> bool:
    match = re.search(r"(\S+)$", text_before)
    if not match:
        return False
    token = match.group(1).lstrip(_OPENERS).lower()
    if token in _ABBREVIATIONS:
        return True
    # Single-letter initials such as "J." in "J. K. Rowling".
    return len(token) == 1 and token.isalpha()


def split_sentences(paragraph: str) -> list[str]:
    """Split a paragraph into sentences, keeping every character (closing quotes stay attached)."""
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(paragraph):
        punctuation = match.group(1)
        if (
            punctuation == "."
            and not match.group(2)
            and _ends_with_abbreviation(paragraph[start : match.start(1)])
        ):
            continue
        end = match.end(2)
        sentence = paragraph[start:end].strip()
        if sentence:
            sentences.append(sentence)
        start = match.end(3)
    tail = paragraph[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences
