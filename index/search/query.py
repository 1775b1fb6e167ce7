"""What a raw question becomes before it is searched: cleaned once, then a `Query`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.encoders.base import QueryTokens
from index.errors import EmptyQueryError
from index.ingest.text import collapse_spaces, has_words, strip_invisible


def clean_query(raw: str, max_chars: int) -> str:
    """Visible text with single spaces, cut at a word boundary past `max_chars`.

    Raises EmptyQueryError when nothing searchable is left (empty, blank, emoji or symbols only).
    """
    if not isinstance(raw, str):
        raise EmptyQueryError("the question must be text")
    text = collapse_spaces(strip_invisible(raw))
    if not text:
        raise EmptyQueryError("the question is empty: ask something about the article in words")
    if not has_words(text):
        raise EmptyQueryError(
            "the question has no words to search for (only emoji or symbols): ask it in words"
        )
    if len(text) > max_chars:
        cut = text[: max_chars + 1]
        space = cut.rfind(" ")
        text = cut[:space] if space > max_chars // 2 else text[:max_chars]
    return text.strip()


@dataclass(frozen=True, slots=True)
class Query:
    """A cleaned query with its vector, BM25 tokens and token vectors (for late interaction)."""

    text: str
    vector: np.ndarray
    tokens: list[str]
    token_vectors: QueryTokens | None = None
