"""Late interaction: every paragraph's token vectors, stored compactly, and MaxSim against them.

The MiniLM that embeds paragraphs also gives a vector per token before pooling. Comparing a
question token by token with a paragraph (ColBERT's MaxSim: each question token takes its
closest paragraph token) keeps what pooling blurs: a rare word of the question still finds its
counterpart, spelt a little differently or not. The vectors are stored once, float16, and read
memory-mapped: a search touches only its candidates' rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class ParagraphTokens:
    """Token vectors of every paragraph in one float16 array, and what late interaction needs
    beside them. float16 halves the memory of float32 with no change to any ranking (MaxSim
    sums cosines to 3 decimals); loaded memory-mapped, only the candidates' rows are read."""

    vectors: np.ndarray  # (tokens, dim) float16
    ids: np.ndarray  # (tokens,) int32 token ids
    start: np.ndarray  # (paragraphs + 1,) int64: paragraph row -> first token row

    def document_frequency(self) -> np.ndarray:
        """How many paragraphs hold each token id (for IDF weights)."""
        rows = np.repeat(np.arange(len(self.start) - 1), np.diff(self.start))
        pairs = np.unique(rows.astype(np.int64) << 32 | self.ids.astype(np.int64))
        return np.bincount((pairs & 0xFFFFFFFF).astype(np.int64))

    @classmethod
    def stack(
        cls, per_paragraph: list[tuple[np.ndarray, np.ndarray]], dimension: int
    ) -> ParagraphTokens:
        lengths = [len(ids) for _, ids in per_paragraph]
        return cls(
            vectors=(
                np.concatenate([v for v, _ in per_paragraph]).astype(np.float16)
                if per_paragraph
                else np.zeros((0, dimension), dtype=np.float16)
            ),
            ids=np.concatenate([i for _, i in per_paragraph]).astype(np.int32)
            if per_paragraph
            else np.zeros(0, dtype=np.int32),
            start=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        )

    def of(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = int(self.start[row]), int(self.start[row + 1])
        return self.vectors[a:b], self.ids[a:b]


def token_weights(ids: np.ndarray, document_frequency: np.ndarray, documents: int) -> np.ndarray:
    """IDF of each question token over the indexed paragraphs: "the", "?" and a word every
    paragraph shares weigh little in MaxSim; a word few paragraphs have weighs most."""
    df = document_frequency[np.clip(ids, 0, len(document_frequency) - 1)]
    return np.log((documents + 1) / (df + 0.5)) + 0.5


def max_sim(
    question_tokens: np.ndarray,
    weights: np.ndarray,
    token_vectors: np.ndarray,
    token_start: np.ndarray,
    rows: np.ndarray,
) -> np.ndarray:
    """MaxSim of the question's token vectors against each candidate paragraph's, averaged with
    `weights` (see `token_weights`).

    Only the candidates' token rows are read (the array may be memory-mapped float16).
    """
    if len(question_tokens) == 0 or len(rows) == 0:
        return np.zeros(len(rows), dtype=np.float32)
    starts, ends = token_start[rows], token_start[rows + 1]
    lengths = ends - starts
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    gather = np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1])
    similarities = np.asarray(token_vectors[gather], dtype=np.float32) @ question_tokens.T
    best = np.maximum.reduceat(similarities, offsets[:-1], axis=0)
    return (best @ weights) / weights.sum()
