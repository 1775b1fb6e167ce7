"""Frozen values passed between the index and its users."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Coverage = Literal["full", "partial", "none"]


@dataclass(frozen=True, slots=True)
class Speaker:
    """Who is quoted in a paragraph, as the article names them."""

    name: str
    role: str | None = None
    organisation: str | None = None

    @property
    def label(self) -> str:
        """`David Dalton, Dragonfly Intelligence`: the name with the most telling detail known."""
        detail = self.organisation or self.role
        return f"{self.name}, {detail}" if detail else self.name


@dataclass(frozen=True, slots=True)
class Passage:
    """One paragraph of a source, numbered from 1 in reading order."""

    id: str
    source_id: str
    number: int
    text: str
    sentences: tuple[str, ...]
    speaker: Speaker | None = None
    is_quote: bool = False


@dataclass(frozen=True, slots=True)
class Source:
    """A document the bot can quote, with its cleaned paragraphs."""

    id: str
    title: str
    publisher: str | None
    url: str | None
    author: str | None
    date: str | None
    content_hash: str
    passages: tuple[Passage, ...] = field(default=(), repr=False)

    @property
    def paragraph_count(self) -> int:
        return len(self.passages)


@dataclass(frozen=True, slots=True)
class Scores:
    """The parts of a hit's score, kept so an admin can see why a passage was (not) quoted."""

    paragraph: float  # cosine of the whole paragraph
    sentence: float  # best cosine among its sentences
    bm25: float  # the best sentence's BM25, squashed into [0, 1)
    evidence: float  # the weighted sum the rrf method compares with its abstention threshold
    late_interaction: float = 0.0  # token-level MaxSim (learned ranking only)


@dataclass(frozen=True, slots=True)
class Hit:
    """A paragraph that answers a query, with the sentence(s) that answer best.

    `score` is the ranking score of the method (the learned weighted sum, or reciprocal rank
    fusion for rrf): it orders hits and is not comparable across queries.
    """

    passage: Passage
    score: float
    highlight: str
    highlight_indices: tuple[int, ...]
    scores: Scores


@dataclass(frozen=True, slots=True)
class Answer:
    """The result of one search.

    `coverage` says how much of the question the article answers: "full", "partial" (on topic,
    but something asked is not there: `reason` says what, `missing` lists the question's words
    the article lacks) or "none". `abstained` is true exactly when coverage is "none"; `hits` is
    then empty: nothing is presented as an answer, and `nearest` holds the closest paragraphs,
    for suggestions only. `evidence` and `threshold`: how well the best candidates match, and
    the level under which the search abstains.
    """

    query: str
    hits: tuple[Hit, ...]
    abstained: bool
    threshold: float
    nearest: tuple[Hit, ...] = ()
    source: str | None = None
    evidence: float = 0.0
    coverage: Coverage = "full"
    missing: tuple[str, ...] = ()
    reason: str = ""
