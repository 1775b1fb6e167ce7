"""Quotebot's retrieval core: sources -> passages -> embeddings -> FAISS + BM25 -> cited hits.

This package has no Discord dependency; `bot/` is one of its users, the CLI (`python -m index`)
another.
"""

from index.config import IndexSettings
from index.errors import (
    EmptyQueryError,
    IndexCorruptError,
    ModelLoadError,
    PassageNotFoundError,
    QuotebotError,
    SourceLoadError,
    SourceNotFoundError,
)
from index.models import Answer, Hit, Passage, Source
from index.retriever import Retriever

__all__ = [
    "Answer",
    "EmptyQueryError",
    "Hit",
    "IndexCorruptError",
    "IndexSettings",
    "ModelLoadError",
    "Passage",
    "PassageNotFoundError",
    "QuotebotError",
    "Retriever",
    "Source",
    "SourceLoadError",
    "SourceNotFoundError",
]
