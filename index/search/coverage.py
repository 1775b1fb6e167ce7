"""How much of a question the article covers: `full`, `partial` or `none`.

`none` (abstain) comes from a logistic model of how well the candidates match at all
(MATCH_FEATURES): off-topic questions match nothing closely, as a whole or token by token, and
few of their words are in the article.

`partial` means on topic, but something asked is not there. Two signals, weighed with how
clearly the best paragraph wins by a third logistic model (PARTIAL_FEATURES):
- the question asks for a number, a date or a duration and the best paragraph gives none;
- a content word of the question has nothing close in the article: its stem is in no paragraph,
  its spelling is not near any word of the best candidates (so typos still match) and its token
  vectors are not near theirs (so "goodbye" finds "farewell"). A logistic model over those and
  how rare the word is to the model's tokenizer (TERM_FEATURES; rare words are the telling ones:
  names, things) says how likely the word is to matter, so a casual "guy" the article words
  differently weighs little. The words above its threshold are the answer's `missing`.
The model also reads the share of the question's words the article has at all: a near miss
asks about the article's subject in the article's words but one (a "treaty", a "wife", "Kyiv"),
and the words it has make a wrong full answer likelier, not less (held out: near-miss flagged
70% -> 80%, README).

The weights and thresholds come from `python -m index train` (grouped cross-validation).
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from index.encoders.base import QueryTokens
from index.models import Coverage
from index.search.features import (
    FEATURES,
    WORD_SPAN,
    content_words,
    folded_word,
    gives_number,
    number_asked,
)
from index.search.late import TokenMatch
from index.search.tokenize import tokenize

if TYPE_CHECKING:
    from index.search.store import IndexData
    from index.search.weights import Weights

# Per content word of the question: what the missing-term model reads.
TERM_FEATURES: tuple[str, ...] = ("spelling", "closeness", "rarity", "pieces", "capitalised")
# Per question: what the off-topic model reads (the best value among the candidates).
MATCH_FEATURES: tuple[str, ...] = (
    "paragraph_cosine",
    "sentence_cosine",
    "late_interaction",
    "sentence_bm25",
    "words_found",
)
# Per question, once it is on topic: what the partial model reads. The likeliest missing word,
# how many words the article lacks and what share of the question's words it has, whether a
# number asked is missing, and how clearly the best paragraph wins.
PARTIAL_FEATURES: tuple[str, ...] = (
    "missing_word",
    "unknown_words",
    "number_gap",
    "late_interaction",
    "margin",
    "paragraph_cosine",
    "sentence_cosine",
    "words_found",
)
# Missing words are looked for among this many of the best candidates: bounded work per question.
TERM_CANDIDATES = 10
# Spelt at least this close (Dice of character trigrams), a word counts as the article's.
SAME_SPELLING = 0.7
NO_MATCH = "Nothing in the article is close enough to the question."
NOT_EXACTLY = "The article doesn't say exactly that."
_NUMBER_REASONS = {
    "quantity": "The article doesn't give a number for that.",
    "date": "The article doesn't give a date for that.",
    "duration": "The article doesn't say for how long.",
}


@dataclass(frozen=True, slots=True)
class Term:
    """One content word of the question and how close the article comes to it."""

    word: str  # folded
    text: str  # as the user wrote it, for the message
    in_vocabulary: bool  # its stem occurs in the article
    features: tuple[float, ...]  # TERM_FEATURES


@dataclass(frozen=True, slots=True)
class Verdict:
    """The coverage of one answer, and what decided it."""

    coverage: Coverage
    missing: tuple[str, ...]  # question words the article lacks (as typed)
    reason: str  # one sentence for the user; empty when coverage is full
    evidence: float  # how well the best candidates match, compared with `threshold`
    threshold: float


@functools.lru_cache(maxsize=65536)
def _stems(word: str) -> tuple[str, ...]:
    """A folded word's BM25 stems (cached like `folded_word`)."""
    return tuple(tokenize(word))


def terms(
    question: str,
    tokens: QueryTokens,
    data: IndexData,
    top: np.ndarray,
    products: TokenMatch | None = None,
) -> list[Term]:
    """The question's content words, each with the TERM_FEATURES of its best match among the
    paragraphs `top` (rows, best first; only the first TERM_CANDIDATES are read).

    `products`, the token products late interaction computed, saves computing them again when
    they hold those paragraphs.
    """
    rows = top[:TERM_CANDIDATES]
    nearby_words = data.words.near(rows)
    nearby = products.of_rows(rows) if products is not None else None
    if nearby is None:
        nearby = TokenMatch.of(tokens.vectors, data.tokens, rows).similarities
    wanted = set(content_words(question))
    # As lists: a question has a dozen tokens, fewer than numpy needs to pay for its calls.
    spans, ids = tokens.spans.tolist(), tokens.ids.tolist()
    chosen: list[tuple[re.Match[str], str, tuple[str, ...], list[int]]] = []
    for match in WORD_SPAN.finditer(question):
        word = folded_word(match.group())
        if word is None or word not in wanted or any(c[1] == word for c in chosen):
            continue
        start, end = match.span()
        pieces = [i for i, (a, b) in enumerate(spans) if a >= start and b <= end]
        chosen.append((match, word, _stems(word), pieces))
    # Every word's closeness at once: the cosine of its pieces pooled with each nearby token is
    # their products summed over the pooled vector's norm.
    membership = np.zeros((len(spans), len(chosen)), dtype=np.float32)
    for column, (_, _, _, pieces) in enumerate(chosen):
        membership[pieces, column] = 1.0
    closeness_of = np.zeros(len(chosen))
    if len(nearby) and len(chosen):
        pooled = np.linalg.norm(tokens.vectors.T @ membership, axis=0)
        closeness_of = (nearby @ membership).max(axis=0) / np.maximum(pooled, 1e-9)
    found: list[Term] = []
    for (match, word, stems, pieces), closeness in zip(chosen, closeness_of.tolist(), strict=True):
        in_vocabulary = bool(stems) and all(s in data.vocabulary for s in stems)
        spelling = 1.0 if in_vocabulary else nearby_words.closest(word)
        rarity = 1.0
        if pieces:
            rarity = math.log1p(float(max(ids[i] for i in pieces))) / math.log(
                tokens.vocabulary_size
            )
        capitalised = float(match.group()[:1].isupper() and match.start() > 0)
        found.append(
            Term(
                word,
                match.group(),
                in_vocabulary,
                (spelling, closeness if pieces else 0.0, rarity, float(len(pieces)), capitalised),
            )
        )
    return found


def words_found(question_terms: list[Term]) -> float:
    """The share of content words the article has, as they are or nearly so spelt."""
    if not question_terms:
        return 0.0
    found = sum(t.in_vocabulary or t.features[0] >= SAME_SPELLING for t in question_terms)
    return found / len(question_terms)


def match_features(matrix: np.ndarray, question_terms: list[Term]) -> np.ndarray:
    """MATCH_FEATURES of one question from its candidates' feature matrix (FEATURES columns)."""
    best = matrix.max(axis=0) if len(matrix) else np.zeros(len(FEATURES))
    column = FEATURES.index
    return np.array(
        [
            best[column("paragraph_cosine")],
            best[column("sentence_cosine")],
            best[column("late_interaction")],
            best[column("sentence_bm25")],
            words_found(question_terms),
        ]
    )


def _term_probabilities(question_terms: list[Term], weights: Weights) -> list[tuple[Term, float]]:
    unknown = [t for t in question_terms if not t.in_vocabulary]
    if not unknown:
        return []
    p = weights.missing_term.probability(np.array([t.features for t in unknown]), TERM_FEATURES)
    return list(zip(unknown, p.tolist(), strict=True))


def number_gap(question: str, data: IndexData, top: np.ndarray) -> str | None:
    """Why the best paragraph falls short when the question asks for a number it lacks."""
    asked = number_asked(question)
    if asked is None or len(top) == 0 or gives_number(asked, data.passages[int(top[0])].text):
        return None
    return _NUMBER_REASONS[asked]


def partial_features(
    question_terms: list[Term],
    gap: str | None,
    matrix: np.ndarray,
    ranking: np.ndarray,
    weights: Weights,
    scored: list[tuple[Term, float]] | None = None,
) -> np.ndarray:
    """PARTIAL_FEATURES of one question (`scored`: its words' missing-term probabilities, when
    already worked out)."""
    if scored is None:
        scored = _term_probabilities(question_terms, weights)
    probabilities = [p for _, p in scored]
    ordered = np.sort(ranking)[::-1]
    margin = float(ordered[0] - ordered[1]) if len(ordered) > 1 else 1.0
    best = matrix.max(axis=0) if len(matrix) else np.zeros(len(FEATURES))
    return np.array(
        [
            max(probabilities, default=0.0),
            float(len(probabilities)),
            float(gap is not None),
            best[FEATURES.index("late_interaction")],
            margin,
            best[FEATURES.index("paragraph_cosine")],
            best[FEATURES.index("sentence_cosine")],
            words_found(question_terms),
        ]
    )


def judge(
    question: str,
    tokens: QueryTokens,
    data: IndexData,
    top: np.ndarray,
    matrix: np.ndarray,
    ranking: np.ndarray,
    weights: Weights,
    products: TokenMatch | None = None,
) -> Verdict:
    """The coverage of the answer whose ranked paragraphs are `top` (rows, best first);
    `matrix` and `ranking` are the candidates' FEATURES and ranking scores; `products` the token
    products of late interaction (`terms`)."""
    question_terms = terms(question, tokens, data, top, products)
    off_topic = weights.off_topic
    evidence = 1.0 - float(
        off_topic.probability(match_features(matrix, question_terms), MATCH_FEATURES)[0]
    )
    threshold = 1.0 - off_topic.threshold
    if len(top) == 0 or evidence <= threshold:
        return Verdict("none", (), NO_MATCH, evidence, threshold)
    gap = number_gap(question, data, top)
    scored = _term_probabilities(question_terms, weights)
    features = partial_features(question_terms, gap, matrix, ranking, weights, scored)
    if not weights.partial.says_yes(features, PARTIAL_FEATURES)[0]:
        return Verdict("full", (), "", evidence, threshold)
    missing = tuple(t.text for t, p in scored if p >= weights.missing_term.threshold)
    if gap is not None:
        return Verdict("partial", missing, gap, evidence, threshold)
    reason = mention_reason(missing) if missing else NOT_EXACTLY
    return Verdict("partial", missing, reason, evidence, threshold)


def mention_reason(missing: tuple[str, ...]) -> str:
    """ "The article doesn't mention Macron or summit." """
    named = missing[0] if len(missing) == 1 else ", ".join(missing[:-1]) + " or " + missing[-1]
    return f"The article doesn't mention {named}."
