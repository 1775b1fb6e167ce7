"""Late interaction: every paragraph's token vectors, stored compactly, and MaxSim against them.

The MiniLM that embeds paragraphs also gives a vector per token before pooling. Comparing a
question token by token with a paragraph (ColBERT's MaxSim: each question token takes its
closest paragraph token) keeps what pooling blurs: a rare word of the question still finds its
counterpart, spelt a little differently or not. The vectors are stored once, int8 with a scale
per token, and read memory-mapped: a search touches only its candidates' rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class TokenRows:
    """One paragraph's token vectors as the index stores them (and the embedding cache keeps
    them): int8 with a scale per token, and the token ids."""

    vectors: np.ndarray  # (tokens, dim) int8
    scales: np.ndarray  # (tokens,) float32
    ids: np.ndarray  # (tokens,) int32

    @classmethod
    def quantise(cls, unit_vectors: np.ndarray, ids: np.ndarray) -> TokenRows:
        """From float32 unit-length token vectors: each token's largest component maps to 127."""
        vectors = np.asarray(unit_vectors, dtype=np.float32)
        scales = np.maximum(np.abs(vectors).max(axis=1, initial=0.0), 1e-12) / 127
        return cls(
            vectors=np.round(vectors / scales[:, None]).astype(np.int8),
            scales=scales.astype(np.float32),
            ids=np.asarray(ids).astype(np.int32),
        )


@dataclass(frozen=True, slots=True)
class ParagraphTokens:
    """Token vectors of every paragraph in one int8 array (a scale per token), and what late
    interaction needs beside them.

    int8 with a per-token scale takes 388 bytes a token (float32 1 536, float16 772) and turns
    back into float32 ten times faster than float16 does (numpy has no fast float16 path: 1.3 ms
    against 0.12 ms for one article's tokens); cosines move by at most 0.002 (bench/README.md).
    Loaded memory-mapped, a search reads only its candidates' rows.
    """

    vectors: np.ndarray  # (tokens, dim) int8
    scales: np.ndarray  # (tokens,) float32: a token's vector is vectors[i] * scales[i]
    ids: np.ndarray  # (tokens,) int32 token ids
    start: np.ndarray  # (paragraphs + 1,) int64: paragraph row -> first token row

    def document_frequency(self) -> np.ndarray:
        """How many paragraphs hold each token id (for IDF weights)."""
        rows = np.repeat(np.arange(len(self.start) - 1), np.diff(self.start))
        pairs = np.unique(rows.astype(np.int64) << 32 | self.ids.astype(np.int64))
        return np.bincount((pairs & 0xFFFFFFFF).astype(np.int64))

    @classmethod
    def stack(cls, per_paragraph: list[TokenRows], dimension: int) -> ParagraphTokens:
        """From each paragraph's quantised token rows, in paragraph order."""
        lengths = [len(p.ids) for p in per_paragraph]

        def joined(arrays: list[np.ndarray], dtype: type, *shape: int) -> np.ndarray:
            if not arrays:
                return np.zeros((0, *shape), dtype=dtype)
            return np.concatenate(arrays).astype(dtype, copy=False)

        return cls(
            vectors=joined([p.vectors for p in per_paragraph], np.int8, dimension),
            scales=joined([p.scales for p in per_paragraph], np.float32),
            ids=joined([p.ids for p in per_paragraph], np.int32),
            start=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        )

    def rows(self, gather: np.ndarray) -> np.ndarray:
        """The float32 vectors of token rows `gather`."""
        # np.asarray: products of np.memmap subclasses miss BLAS (12 ms instead of 0.5 here).
        vectors = np.asarray(self.vectors[gather], dtype=np.float32)
        vectors *= np.asarray(self.scales[gather])[:, None]  # in place: the gather is a copy
        return vectors

    def gather(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The token rows of paragraphs `rows`, and where each paragraph's tokens start in them."""
        starts, ends = self.start[rows], self.start[rows + 1]
        lengths = ends - starts
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        return np.repeat(starts - offsets[:-1], lengths) + np.arange(offsets[-1]), offsets


def token_weights(ids: np.ndarray, document_frequency: np.ndarray, documents: int) -> np.ndarray:
    """IDF of each question token over the indexed paragraphs: "the", "?" and a word every
    paragraph shares weigh little in MaxSim; a word few paragraphs have weighs most."""
    df = document_frequency[np.clip(ids, 0, len(document_frequency) - 1)]
    return np.log((documents + 1) / (df + 0.5)) + 0.5


def max_sim(
    question_tokens: np.ndarray, weights: np.ndarray, tokens: ParagraphTokens, rows: np.ndarray
) -> np.ndarray:
    """MaxSim of the question's token vectors against each paragraph of `rows`, averaged with
    `weights` (see `token_weights`). Only those paragraphs' token rows are read."""
    if len(question_tokens) == 0 or len(rows) == 0:
        return np.zeros(len(rows), dtype=np.float32)
    gather, offsets = tokens.gather(rows)
    # Scaled after the product: one multiply per (token, question token), not per dimension.
    similarities = np.asarray(tokens.vectors[gather], dtype=np.float32) @ question_tokens.T
    similarities *= np.asarray(tokens.scales[gather])[:, None]
    best = np.maximum.reduceat(similarities, offsets[:-1], axis=0)
    return (best @ weights) / weights.sum()
