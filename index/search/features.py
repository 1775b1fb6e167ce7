"""The signals a learned ranker weighs, computed for the candidate paragraphs of one question.

Every feature is generic: it reads the question, the candidates' text, vectors and attribution,
never anything particular to one article. The rows are what `index.search.weights` scores and what
`python -m index train` fits.

- `paragraph_cosine`, `sentence_cosine`: the question vector against the paragraph's and against
  its best sentence's.
- `bm25`: the paragraph's BM25 divided by the best candidate's, so its scale does not depend on
  the question's length; `sentence_bm25`: the best sentence's BM25 squashed by s / (s + 4).
- `late_interaction`: ColBERT-style MaxSim of the same MiniLM's token vectors, every question
  token against its closest paragraph token, averaged with IDF weights (`index.search.late`). Pooled vectors blur a question into one
  point; token by token, a rare word of the question still finds its counterpart.
- `sentence_late_interaction`: the same MaxSim within one sentence, for the paragraph's best
  sentence: the question's matches have to hold together, not be scattered over a long paragraph.
- `sentence_token_f1`: BERTScore's F1 of the best sentence: recall of the question's content
  tokens (question words masked) against how closely the sentence's own tokens find the
  question's (precision), both IDF-weighted. Both token-level sentence signals lift paraphrased
  questions (README "How answers are scored").
- `speaker_match`: how many of the question's content words name the paragraph's speaker, their
  role or organisation ("what does the analyst at X think"); `introduction_match`: the same for
  the people a paragraph introduces (the first to name them in full: "who is X").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from index.encoders.base import QueryTokens
from index.ingest.text import normalise_for_match
from index.models import Passage, Speaker
from index.search.tokenize import STOP_WORDS

NumberAsk = Literal["quantity", "date", "duration"]
FEATURES: tuple[str, ...] = (
    "paragraph_cosine",
    "sentence_cosine",
    "bm25",
    "sentence_bm25",
    "late_interaction",
    "speaker_match",
    "introduction_match",
    "sentence_late_interaction",
    "sentence_token_f1",
)
# The features read from token vectors (`index.search.late.token_signals`), in its column order.
TOKEN_FEATURES: tuple[str, ...] = (
    "late_interaction",
    "sentence_late_interaction",
    "sentence_token_f1",
)
BM25_SATURATION = 4.0
# Words that say what kind of answer is wanted, not what it is about.
QUESTION_WORDS = frozenset(
    """what who whom whose why how when where which whats wat wot u r ur pls please tell tells say
    says said think thinks reckon reckons article mean means according""".split()
)
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
# A word as typed (curly apostrophe too), for finding where it is in the question.
WORD_SPAN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
# What kind of number a question asks for, and what in a passage can give it. A count or an
# amount needs a quantity ("3,000", "two", "millions"); "when" needs a date or a time ("in 2022",
# "last month", "since August"); "how long" needs a duration ("a hundred years", "for weeks").
_ASKS: tuple[tuple[NumberAsk, re.Pattern[str]], ...] = (
    (
        "date",
        re.compile(
            r"\b(?:when|since when|how long ago|(?:what|which) (?:year|date|day|month|time))\b"
        ),
    ),
    ("duration", re.compile(r"\bhow long\b")),
    (
        "quantity",
        re.compile(
            r"\b(?:how (?:many|much|big|large|far|old|often)|by how much|(?:what|which) "
            r"(?:number|amount|share|percentage|proportion|price|cost|size|figure|sum))\b"
        ),
    ),
)
_QUANTITY = (
    r"\d|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
    r"fifty|hundreds?|thousands?|millions?|billions?|trillions?|dozens?|half|twice|per ?cent|"
    r"several|both|numerous)\b"
)
_UNIT = r"(?:years?|months?|weeks?|days?|hours?|decades?|centuries|century)"
_GIVES: dict[NumberAsk, re.Pattern[str]] = {
    "quantity": re.compile(_QUANTITY),
    "date": re.compile(
        r"\d|\b(?:january|february|march|april|may|june|july|august|september|october|"
        r"november|december|monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|"
        r"yesterday|tomorrow|ago|since|before|after|until|till|during|once|now|future|"
        rf"(?:last|next|this|that|coming) {_UNIT})\b"
    ),
    "duration": re.compile(
        rf"(?:{_QUANTITY}|\ba|\ban|\bfor|\bsince)\s+(?:\w+\s+)?{_UNIT}\b"
        r"|\b(?:since|until|till|as long as|for now|foreseeable|forever|permanent\w*)\b"
    ),
}
_WHO = re.compile(r"\b(?:who|whom|whose)\b")


def words(text: str) -> list[str]:
    """Lower-cased words of `text`, straight apostrophes, possessive 's cut."""
    found = _WORD.findall(normalise_for_match(text))
    return [w[:-2] if w.endswith("'s") else w for w in found]


@functools.lru_cache(maxsize=4096)
def content_words(text: str) -> tuple[str, ...]:
    """The words of a question that say what it is about (no stop or question words). Cached:
    ranking and coverage both ask, question after question."""
    return tuple(
        w for w in words(text) if len(w) > 1 and w not in STOP_WORDS and w not in QUESTION_WORDS
    )


@functools.lru_cache(maxsize=65536)
def folded_word(typed: str) -> str | None:
    """A word as typed (a `WORD_SPAN` match), folded as `words` folds it; None when it folds to
    nothing. Cached: the same words come back question after question."""
    folded = words(typed)
    return folded[0] if folded else None


def content_token_mask(question: str, tokens: QueryTokens) -> np.ndarray:
    """Which of the question's tokens are pieces of its content words (not of "what", "did",
    "reckons", nor "?"): what a question asks about, without how it asks."""
    wanted = set(content_words(question))
    spans = [m.span() for m in WORD_SPAN.finditer(question) if folded_word(m.group()) in wanted]
    if not spans:
        return np.zeros(len(tokens.ids), dtype=bool)
    words_at = np.array(spans)
    inside = (tokens.spans[:, None, 0] >= words_at[:, 0]) & (
        tokens.spans[:, None, 1] <= words_at[:, 1]
    )
    return np.asarray(inside.any(axis=1))


def number_asked(text: str) -> NumberAsk | None:
    """Whether the question asks for a date, a duration or a quantity, and which."""
    folded = normalise_for_match(text)
    return next((kind for kind, pattern in _ASKS if pattern.search(folded)), None)


def gives_number(kind: NumberAsk, text: str) -> bool:
    """Whether `text` holds the kind of number asked for."""
    return bool(_GIVES[kind].search(normalise_for_match(text)))


def is_who_question(text: str) -> bool:
    return bool(_WHO.search(normalise_for_match(text)))


@functools.lru_cache(maxsize=65536)
def trigrams(word: str) -> frozenset[str]:
    padded = f"#{word}#"
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


@functools.lru_cache(maxsize=262144)
def spelling_closeness(word: str, other: str) -> float:
    """Dice of character trigrams, 1.0 for the same word (cached: the same pairs recur)."""
    if word == other:
        return 1.0
    a, b = trigrams(word), trigrams(other)
    return 2 * len(a & b) / (len(a) + len(b))


def similar(word: str, other: str, threshold: float = 0.7) -> bool:
    """Equal, or close in character trigrams: "dalten" is "dalton" mistyped."""
    return spelling_closeness(word, other) >= threshold


def _speaker_words(speaker: Speaker) -> frozenset[str]:
    parts = (speaker.name, speaker.role or "", speaker.organisation or "")
    return frozenset(w for w in words(" ".join(parts)) if w not in STOP_WORDS)


@dataclass(frozen=True, slots=True)
class People:
    """Per paragraph: the words naming its speaker, and those naming the people it introduces."""

    speaker_words: tuple[frozenset[str], ...]
    introduced_words: tuple[frozenset[str], ...]

    @classmethod
    def of(cls, passages: Sequence[Passage]) -> People:
        speakers = [p.speaker for p in passages]
        introduced: list[set[str]] = [set() for _ in passages]
        seen: set[tuple[str, str]] = set()
        for speaker in speakers:
            if speaker is None:
                continue
            source_id = next(p.source_id for p in passages if p.speaker == speaker)
            if (source_id, speaker.name) in seen:
                continue
            seen.add((source_id, speaker.name))
            for row, passage in enumerate(passages):
                if passage.source_id == source_id and speaker.name in passage.text:
                    introduced[row] |= _speaker_words(speaker)
                    break
        return cls(
            speaker_words=tuple(_speaker_words(s) if s else frozenset() for s in speakers),
            introduced_words=tuple(frozenset(w) for w in introduced),
        )


@functools.lru_cache(maxsize=65536)
def _match_fraction(question_words: tuple[str, ...], names: frozenset[str]) -> float:
    """Cached: a question meets the same few speakers' words in candidate after candidate."""
    if not question_words or not names:
        return 0.0
    return sum(any(similar(w, n) for n in names) for w in question_words) / len(question_words)


def rows_of_features(
    *,
    question: str,
    candidates: np.ndarray,
    paragraph_cosine: np.ndarray,
    sentence_cosine: np.ndarray,
    paragraph_bm25: np.ndarray,
    sentence_bm25: np.ndarray,
    late_interaction: np.ndarray,
    people: People,
) -> np.ndarray:
    """The (candidates x FEATURES) matrix for one question."""
    top_bm25 = float(paragraph_bm25.max()) if len(paragraph_bm25) else 0.0
    asked = content_words(question)
    matrix = np.zeros((len(candidates), len(FEATURES)), dtype=np.float64)
    matrix[:, 0] = paragraph_cosine
    matrix[:, 1] = sentence_cosine
    matrix[:, 2] = paragraph_bm25 / top_bm25 if top_bm25 > 0 else 0.0
    matrix[:, 3] = sentence_bm25 / (sentence_bm25 + BM25_SATURATION)
    matrix[:, 4] = late_interaction
    for i, row in enumerate(candidates.tolist()):
        matrix[i, 5] = _match_fraction(asked, people.speaker_words[row])
        matrix[i, 6] = _match_fraction(asked, people.introduced_words[row])
    return matrix
