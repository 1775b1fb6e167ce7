"""How close a question word's spelling comes to the words of a few paragraphs, as arrays.

Coverage asks, of every question word the article lacks, how close it is spelt to any word of
the best paragraphs (Dice of character trigrams, `features.spelling_closeness`): "dalten" is
"dalton" mistyped. Pair by pair in Python that is a few hundred comparisons a word; here every
distinct word of the article is numbered with its trigrams once, when the index is loaded, so a
question costs a handful of array operations over its paragraphs' words, whatever their number.
The figures are the same: the same whole numbers divided the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.models import Passage
from index.search.features import trigrams, words


@dataclass(frozen=True, slots=True)
class ArticleWords:
    """Every distinct word of the paragraphs, with its character trigrams, and each paragraph's
    words, numbered."""

    trigram_ids: dict[str, int]
    word_trigrams: np.ndarray  # (all words' trigrams,) int32 trigram ids, word after word
    word_start: np.ndarray  # (words + 1,) int64: word id -> its first trigram in word_trigrams
    paragraph_words: tuple[np.ndarray, ...]  # paragraph row -> its distinct word ids

    @classmethod
    def of(cls, passages: Sequence[Passage]) -> ArticleWords:
        word_ids: dict[str, int] = {}
        paragraph_words = tuple(
            np.array(
                sorted({word_ids.setdefault(w, len(word_ids)) for w in words(p.text)}),
                dtype=np.int32,
            )
            for p in passages
        )
        trigram_ids: dict[str, int] = {}
        per_word = [
            sorted({trigram_ids.setdefault(t, len(trigram_ids)) for t in trigrams(w)})
            for w in word_ids
        ]
        return cls(
            trigram_ids=trigram_ids,
            word_trigrams=np.array([t for ts in per_word for t in ts], dtype=np.int32),
            word_start=np.concatenate([[0], np.cumsum([len(ts) for ts in per_word])]).astype(
                np.int64
            ),
            paragraph_words=paragraph_words,
        )

    def near(self, rows: np.ndarray) -> NearbyWords:
        """The words of paragraphs `rows`, to compare spellings with (computed on first use)."""
        return NearbyWords(self, rows)


class NearbyWords:
    """The distinct words of a few paragraphs, laid out for `closest`."""

    __slots__ = ("_article", "_offsets", "_rows", "_sizes", "_trigrams")

    def __init__(self, article: ArticleWords, rows: np.ndarray) -> None:
        self._article = article
        self._rows = rows
        self._trigrams: np.ndarray | None = None
        self._offsets = self._sizes = np.zeros(0, dtype=np.int64)

    def _layout(self) -> np.ndarray:
        if self._trigrams is None:
            article = self._article
            # A word two paragraphs share is compared twice: the best closeness is the same, and
            # cheaper than np.unique.
            paragraphs = [article.paragraph_words[row] for row in self._rows.tolist()]
            ids = np.concatenate(paragraphs) if paragraphs else np.zeros(0, dtype=np.int64)
            starts = article.word_start[ids]
            self._sizes = article.word_start[ids + 1] - starts
            self._offsets = np.cumsum(self._sizes) - self._sizes
            gather = np.repeat(starts - self._offsets, self._sizes) + np.arange(
                int(self._sizes.sum())
            )
            self._trigrams = article.word_trigrams[gather]
        return self._trigrams

    def closest(self, word: str) -> float:
        """The highest Dice of character trigrams between `word` and any of these words: 1.0 for
        the same word, 0.0 when there are none."""
        found = self._layout()
        if len(self._sizes) == 0:
            return 0.0
        own = trigrams(word)
        known = self._article.trigram_ids
        member = np.zeros(len(known), dtype=np.int32)
        member[[known[t] for t in own if t in known]] = 1
        shared = np.add.reduceat(member[found], self._offsets)
        return float((2 * shared / (len(own) + self._sizes)).max())
