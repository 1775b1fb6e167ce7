"""Late interaction: every paragraph's token vectors, stored compactly, and MaxSim against them.

The MiniLM that embeds paragraphs also gives a vector per token before pooling. Comparing a
question token by token with a paragraph (ColBERT's MaxSim: each question token takes its
closest paragraph token) keeps what pooling blurs: a rare word of the question still finds its
counterpart, spelt a little differently or not. The vectors are stored once, int8 with a scale
per token, and read memory-mapped: a search touches only its candidates' rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
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
    # (sentences + 1,) int64: sentence row -> first token row; a sentence past the model's window
    # has none (its start is the next one's).
    sentence_start: np.ndarray

    def document_frequency(self) -> np.ndarray:
        """How many paragraphs hold each token id (for IDF weights)."""
        rows = np.repeat(np.arange(len(self.start) - 1), np.diff(self.start))
        pairs = np.unique(rows.astype(np.int64) << 32 | self.ids.astype(np.int64))
        return np.bincount((pairs & 0xFFFFFFFF).astype(np.int64))

    @classmethod
    def stack(
        cls, per_paragraph: list[TokenRows], dimension: int, sentence_lengths: list[list[int]]
    ) -> ParagraphTokens:
        """From each paragraph's quantised token rows, in paragraph order, and how many tokens
        each of its sentences has alone (`sentence_bounds`)."""
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
            sentence_start=sentence_bounds(lengths, sentence_lengths),
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


@dataclass(frozen=True, slots=True)
class SentenceStarts:
    """Where each paragraph's sentences start among its own token rows, distinct and only those
    holding tokens (a sentence past the model's window holds none), in one flat array: worked
    out once per index, so a search only gathers its candidates' part."""

    relative: np.ndarray  # (kept sentences,) int64: first token row minus the paragraph's
    start: np.ndarray  # (paragraphs + 1,) int64: paragraph row -> its first entry of `relative`

    @classmethod
    def of(cls, tokens: ParagraphTokens, sentence_rows: np.ndarray) -> SentenceStarts:
        """From the token layout and `sentence_rows` (paragraph row -> first sentence row)."""
        paragraphs = len(sentence_rows) - 1
        owner = np.repeat(np.arange(paragraphs), np.diff(sentence_rows))
        firsts = tokens.sentence_start[:-1]
        # Starts never decrease, so "distinct" is "unlike the one before, within the paragraph".
        new = np.ones(len(firsts), dtype=bool)
        new[1:] = firsts[1:] != firsts[:-1]
        new[sentence_rows[:-1][np.diff(sentence_rows) > 0]] = True
        kept = new & (firsts < tokens.start[owner + 1])
        counts = np.bincount(owner[kept], minlength=paragraphs)
        return cls(
            relative=(firsts[kept] - tokens.start[owner[kept]]).astype(np.int64),
            start=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        )

    def of_rows(self, rows: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For paragraphs `rows` gathered at `offsets` (`ParagraphTokens.gather`): every kept
        sentence's first position in the gathered rows, and where each paragraph's entries begin."""
        counts = self.start[rows + 1] - self.start[rows]
        owner_start = np.concatenate([[0], np.cumsum(counts)])
        entries = np.repeat(self.start[rows] - owner_start[:-1], counts) + np.arange(
            owner_start[-1]
        )
        return self.relative[entries] + np.repeat(offsets[:-1], counts), owner_start[:-1]


def sentence_lengths(
    count_tokens: Callable[[list[str]], list[int]], per_paragraph: list[tuple[str, ...]]
) -> list[list[int]]:
    """Each paragraph's sentences' token counts, by `count_tokens` (a tokenizer: no forward
    pass), for `sentence_bounds`."""
    counts = iter(count_tokens([s for sentences in per_paragraph for s in sentences]))
    return [[next(counts) for _ in sentences] for sentences in per_paragraph]


def sentence_bounds(paragraph_lengths: list[int], sentence_lengths: list[list[int]]) -> np.ndarray:
    """Sentence row -> first token row, from each paragraph's token count and its sentences'.

    A paragraph's tokens are its sentences' tokens in order (the tokenizer splits at spaces and
    punctuation, where sentences end). Sentences past a truncated paragraph's end get no tokens;
    should counts ever disagree, the last sentence takes the paragraph's remaining tokens.
    """
    starts = [np.zeros(1, dtype=np.int64)]
    first = 0
    for length, sentences in zip(paragraph_lengths, sentence_lengths, strict=True):
        ends = np.minimum(np.cumsum(np.asarray(sentences, dtype=np.int64)), length)
        if len(ends):
            ends[-1] = length
        starts.append(first + ends)
        first += length
    return np.concatenate(starts).astype(np.int64)


def idf_table(document_frequency: np.ndarray, documents: int) -> np.ndarray:
    """IDF over the indexed paragraphs of every token id up to the largest they hold, worked out
    once per index: "the", "?" and a word every paragraph shares weigh little in MaxSim; a word
    few paragraphs have weighs most."""
    return np.log((documents + 1) / (document_frequency + 0.5)) + 0.5


def token_weights(ids: np.ndarray, idf: np.ndarray) -> np.ndarray:
    """The IDF of each of the token `ids` (`idf_table`)."""
    return idf[np.clip(ids, 0, len(idf) - 1)]


_BLOCK_ROWS = 128
_buffers = threading.local()


def _conversion_buffer(dimension: int) -> np.ndarray:
    """This thread's float32 buffer for `_BLOCK_ROWS` token rows (searches run on several)."""
    buffer: np.ndarray | None = getattr(_buffers, "rows", None)
    if buffer is None or buffer.shape[1] != dimension:
        buffer = _buffers.rows = np.empty((_BLOCK_ROWS, dimension), dtype=np.float32)
    return buffer


@dataclass(frozen=True, slots=True)
class TokenMatch:
    """Every token of some paragraphs against every token of the question: the one product that
    late interaction reads, kept so that coverage reads it too instead of computing it again."""

    rows: np.ndarray  # paragraph rows
    offsets: np.ndarray  # (len(rows) + 1,): where each paragraph's tokens start in the product
    gather: np.ndarray  # the token rows of `rows`, in order
    similarities: np.ndarray  # (gathered tokens, question tokens) cosines

    @classmethod
    def of(
        cls, question_tokens: np.ndarray, tokens: ParagraphTokens, rows: np.ndarray
    ) -> TokenMatch:
        """The question's unit token vectors against the tokens of paragraphs `rows` (only their
        rows are read)."""
        gather, offsets = tokens.gather(rows)
        similarities = np.empty((len(gather), len(question_tokens)), dtype=np.float32)
        # A block of rows at a time through one small float32 buffer: converting every row at
        # once allocated a fresh megabyte or more a question, and right after the encoder's pass
        # (which empties the caches) that took twice as long as this (bench/README.md). Each
        # row's product is its own, so the figures are the same.
        block = _conversion_buffer(tokens.vectors.shape[1])
        question = question_tokens.T
        for first in range(0, len(gather), len(block)):
            part = gather[first : first + len(block)]
            converted = block[: len(part)]
            converted[...] = tokens.vectors[part]
            np.matmul(converted, question, out=similarities[first : first + len(part)])
        similarities *= np.asarray(tokens.scales[gather])[:, None]
        return cls(rows=rows, offsets=offsets, gather=gather, similarities=similarities)

    def of_rows(self, wanted: np.ndarray) -> np.ndarray | None:
        """The products of paragraphs `wanted`'s tokens (in this match's order), or None when
        one of them is not here."""
        # A few dozen rows at most: a dict beats np.isin's sorting by a factor of ten here.
        position = dict(zip(self.rows.tolist(), range(len(self.rows)), strict=True))
        keep = np.zeros(len(self.rows), dtype=bool)
        for row in wanted.tolist():
            if row not in position:
                return None
            keep[position[row]] = True
        return self.similarities[np.repeat(keep, np.diff(self.offsets))]


def token_signals(
    match: TokenMatch,
    weights: np.ndarray,
    content_weights: np.ndarray,
    tokens: ParagraphTokens,
    sentences: SentenceStarts,
    idf: np.ndarray,
) -> np.ndarray:
    """Per paragraph of `match.rows`: (MaxSim, sentence MaxSim, sentence token F1), from the
    product of the question's token vectors with those paragraphs' (`TokenMatch`).

    - MaxSim: every question token takes its closest token of the paragraph, averaged with
      `weights` (the question tokens' IDF, `token_weights`).
    - Sentence MaxSim: the same, every question token taking its closest token within one
      sentence, for the paragraph's best sentence. A long paragraph offers every question token
      some close token somewhere; within one sentence the matches have to hold together.
    - Sentence token F1 (BERTScore's, with IDF weights, for the best sentence): recall over the
      question's content tokens (`content_weights`: "what did" and "?" weigh nothing) against
      precision, how closely the sentence's own tokens find a question token, weighted by their
      IDF over the paragraphs. A sentence that says what the question asks in other words scores
      on both; one that shares a rare word and talks of something else, on recall only.

    `sentences` says where each paragraph's sentences start (`IndexData.sentence_tokens`).
    """
    rows, offsets, similarities = match.rows, match.offsets, match.similarities
    found = np.zeros((len(rows), 3), dtype=np.float32)
    if similarities.shape[1] == 0 or len(rows) == 0:
        return found
    found[:, 0] = np.maximum.reduceat(similarities, offsets[:-1], axis=0) @ weights / weights.sum()
    # Sentence starts as positions in the gathered rows; sentences without tokens left out.
    starts, owner_start = sentences.of_rows(rows, offsets)
    recall_tokens = np.maximum.reduceat(similarities, starts, axis=0)
    found[:, 1] = np.maximum.reduceat(recall_tokens @ weights / weights.sum(), owner_start)
    recall = recall_tokens @ content_weights / content_weights.sum()
    paragraph_weights = idf[np.asarray(tokens.ids[match.gather])]
    # Down the transposed copy: a row-wise max over a dozen columns is five times slower.
    closest = similarities.T.copy().max(axis=0) * paragraph_weights
    precision = np.add.reduceat(closest, starts) / np.add.reduceat(paragraph_weights, starts)
    recall, precision = np.maximum(recall, 0.0), np.maximum(precision, 0.0)
    f1 = 2 * recall * precision / np.maximum(recall + precision, 1e-9)
    found[:, 2] = np.maximum.reduceat(f1, owner_start)
    return found
