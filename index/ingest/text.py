"""Unicode normalisation shared by ingestion, queries and evaluation."""

from __future__ import annotations

import re
import unicodedata

_QUOTE_MAP = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
    }
)
# Zero-width, bidi controls (U+061C the Arabic letter mark among them) and other format
# characters carry no words but break matching; lone surrogates are not text at all and make the
# tokenizer raise.
_INVISIBLE = re.compile(
    r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad\u061c\ud800-\udfff]"
)
# C0 and C1 controls (a terminal reads ESC and CSI as commands), DEL; tabs and newlines stay.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"\s+")


def strip_invisible(text: str) -> str:
    """Remove NULs, control and zero-width characters; keep everything visible as it is."""
    return _CONTROL.sub("", _INVISIBLE.sub("", text))


def collapse_spaces(text: str) -> str:
    """Fold runs of whitespace (including non-breaking spaces) into one space."""
    return _SPACES.sub(" ", text.replace("\u00a0", " ")).strip()


def normalise_for_match(text: str) -> str:
    """Lower-case, straight quotes, one space: for comparing phrases, never for display."""
    text = unicodedata.normalize("NFKC", strip_invisible(text)).translate(_QUOTE_MAP)
    return collapse_spaces(text).casefold()


def has_words(text: str) -> bool:
    """True when the text holds at least one letter or digit (emoji and punctuation do not count)."""
    return any(ch.isalnum() for ch in text)
