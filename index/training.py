"""Fit the learned ranking and coverage on the question bank, and measure them on held-out folds.

The bank (`eval/bank-*.jsonl`) has answerable questions tagged with a kind and their paragraph,
near-miss questions (on topic, not answered; with the words the article lacks) and off-topic
ones. Everything fitted is fitted here, by numpy alone:

- the ranker: logistic regression on pairs (gold paragraph minus another candidate), no
  intercept, so its weights order candidates (RankNet with a linear scorer);
- the off-topic model: logistic regression of off-topic against answerable questions over
  MATCH_FEATURES, with the threshold that keeps false abstentions on the training answerable
  questions under `MAX_FALSE_NONE`;
- the missing-term model: logistic regression over TERM_FEATURES of the words the article lacks,
  labelled by the near-miss questions, listing words from the threshold with the best F1;
- the partial model: logistic regression of near-miss against answerable questions (those not
  abstained on) over PARTIAL_FEATURES, standardised, with the threshold that keeps wrongly partial
  training answerable questions under `MAX_FALSE_PARTIAL`.

`fit_weights` on the whole bank is what `python -m index train` writes; `index.crossval` fits on
k - 1 folds and measures the fold left out.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.encoders.base import QueryTokens
from index.errors import QuotebotError
from index.ingest.text import normalise_for_match
from index.retriever import Retriever
from index.search.coverage import (
    MATCH_FEATURES,
    NO_MATCH,
    PARTIAL_FEATURES,
    TERM_CANDIDATES,
    TERM_FEATURES,
    Term,
    Verdict,
    judge,
    match_features,
    number_gap,
    partial_features,
    terms,
)
from index.search.features import FEATURES, TOKEN_FEATURES, words
from index.search.query import Query, clean_query
from index.search.rank import signals, token_features
from index.search.store import IndexData
from index.search.tokenize import tokenize
from index.search.weights import Logistic, Weights

log = logging.getLogger(__name__)

ANSWERABLE_KINDS = ("direct", "paraphrase", "casual", "who", "number", "clause")
NEAR_MISS, OFF_TOPIC = "near-miss", "off-topic"
BANK_FILES = ("bank-answerable.jsonl", "bank-nearmiss.jsonl", "bank-offtopic.jsonl")
FOLDS = 6
L2 = 1.0
# Fitted thresholds aim under the limits (2 % and 10 %) with room for held-out spread.
MAX_FALSE_NONE = 0.01
MAX_FALSE_PARTIAL = 0.07


@dataclass(frozen=True, slots=True)
class BankQuestion:
    """A question of the bank; `gold` is empty for near-miss and off-topic questions."""

    text: str
    kind: str
    group: str  # questions about the same paragraph share a fold
    gold: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()  # near-miss: the words the article lacks


def load_bank(folder: Path) -> list[BankQuestion]:
    """The three bank files of `folder` (QuotebotError names a missing file or a bad line)."""
    questions: list[BankQuestion] = []
    for name in BANK_FILES:
        path = folder / name
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise QuotebotError(
                f"cannot read {path} ({exc.strerror}): the question bank lives in eval/"
            ) from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                kind = str(item.get("kind", OFF_TOPIC))
                where = item.get("paragraph", item.get("closest"))
                questions.append(
                    BankQuestion(
                        text=str(item["q"]),
                        kind=kind,
                        group=f"paragraph {where}"
                        if where is not None
                        else f"{kind} {number % FOLDS}",
                        gold=tuple(str(g) for g in item.get("gold", ())),
                        missing=tuple(str(m) for m in item.get("missing", ())),
                    )
                )
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
                raise QuotebotError(
                    f'{path}:{number} is not a JSON object with a "q" field: fix that line'
                ) from None
    return questions


@dataclass
class Example:
    """One bank question with everything the fits read, computed once."""

    question: BankQuestion
    text: str
    tokens: QueryTokens
    candidates: np.ndarray
    matrix: np.ndarray  # FEATURES of every candidate, late interaction included
    gold: frozenset[int]  # rows of the candidates that hold a gold phrase
    _terms: dict[bytes, list[Term]] = field(default_factory=dict)

    def scores(self, weights: dict[str, float]) -> np.ndarray:
        return self.matrix @ np.array([weights.get(f, 0.0) for f in FEATURES])

    def ranked(self, weights: dict[str, float]) -> np.ndarray:
        """Candidate rows (paragraph rows), best first."""
        return self.candidates[np.lexsort((self.candidates, -self.scores(weights)))]

    def terms(self, data: IndexData, top: np.ndarray) -> list[Term]:
        key = top[:TERM_CANDIDATES].tobytes()
        if key not in self._terms:
            self._terms[key] = terms(self.text, self.tokens, data, top)
        return self._terms[key]


def examples(retriever: Retriever, bank: list[BankQuestion]) -> list[Example]:
    """Encode every bank question once and compute its candidates' features."""
    data, settings = retriever.data, retriever.settings
    texts = [clean_query(q.text, settings.max_query_chars) for q in bank]
    found: list[Example] = []
    by_row: dict[int, tuple[np.ndarray, QueryTokens]] = {}
    for rows, vectors, chunk_tokens in retriever.query_encoder.encode_chunks(texts):
        by_row.update(zip(rows, zip(vectors, chunk_tokens, strict=True), strict=True))
    for row, question in enumerate(bank):
        vector, tokens = by_row[row]
        query = Query(texts[row], vector, tokenize(texts[row]), tokens)
        candidate_signals = signals(data, query, settings)
        if candidate_signals is None:
            candidates = np.zeros(0, dtype=np.int64)
            matrix = np.zeros((0, len(FEATURES)))
        else:
            candidates = candidate_signals.candidates
            matrix = candidate_signals.feature_matrix(data, query.text)
            matrix[:, [FEATURES.index(name) for name in TOKEN_FEATURES]], _ = token_features(
                data, query.text, tokens, candidates
            )
        wanted = [normalise_for_match(g) for g in question.gold]
        gold = frozenset(
            int(r)
            for r in candidates
            if any(g in normalise_for_match(data.passages[int(r)].text) for g in wanted)
        )
        found.append(Example(question, texts[row], tokens, candidates, matrix, gold))
    return found


# --- fitting -------------------------------------------------------------------------------------


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float = L2, intercept: bool = True
) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method; the bias (if any) comes last."""
    design = np.hstack([x, np.ones((len(x), 1))]) if intercept else x
    penalty = np.full(design.shape[1], l2)
    if intercept:
        penalty[-1] = 0.0  # the bias is not shrunk
    w = np.zeros(design.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(design @ w, -30, 30)))
        gradient = design.T @ (p - y) + penalty * w
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return w


def fit_ranker(train: list[Example]) -> dict[str, float]:
    """Weights under which gold paragraphs outscore the other candidates, pair by pair."""
    pairs = []
    for example in train:
        gold = [i for i, r in enumerate(example.candidates) if int(r) in example.gold]
        for g in gold:
            others = [i for i in range(len(example.candidates)) if i not in gold]
            pairs.append(example.matrix[g] - example.matrix[others])
    if not pairs:
        raise QuotebotError("no answerable bank question has its gold paragraph among candidates")
    differences = np.concatenate(pairs)
    x = np.concatenate([differences, -differences])
    y = np.concatenate([np.ones(len(differences)), np.zeros(len(differences))])
    w = fit_logistic(x, y, intercept=False)
    return {name: round(float(v), 6) for name, v in zip(FEATURES, w, strict=True)}


def _threshold_for(scores: np.ndarray, allowed: float) -> float:
    """The lowest threshold that leaves at most `allowed` of `scores` at or above it."""
    ordered = np.sort(scores)[::-1]
    over = int(np.floor(allowed * len(ordered)))
    return float(ordered[over] + 1e-6) if over < len(ordered) else 0.0


def _missing_labels(example: Example, found: list[Term]) -> list[tuple[tuple[float, ...], float]]:
    lacking = {w for m in example.question.missing for w in words(m)}
    return [(t.features, float(t.word in lacking)) for t in found if not t.in_vocabulary]


def _fit_model(
    x: np.ndarray, y: np.ndarray, names: tuple[str, ...], standardise: bool = False
) -> Logistic:
    center = x.mean(axis=0) if standardise else np.zeros(x.shape[1])
    scale = np.maximum(x.std(axis=0), 1e-6) if standardise else np.ones(x.shape[1])
    w = fit_logistic((x - center) / scale, y)
    return Logistic(
        weights={n: round(float(v), 6) for n, v in zip(names, w[:-1], strict=True)},
        bias=round(float(w[-1]), 6),
        center={n: round(float(v), 6) for n, v in zip(names, center, strict=True)}
        if standardise
        else {},
        scale={n: round(float(v), 6) for n, v in zip(names, scale, strict=True)}
        if standardise
        else {},
    )


def _with_threshold(model: Logistic, threshold: float) -> Logistic:
    return Logistic(model.weights, model.bias, round(threshold, 6), model.center, model.scale)


def _best_f1_threshold(p: np.ndarray, y: np.ndarray) -> float:
    """The probability above which words are listed as missing: the best F1 on training words."""
    best, best_f1 = 0.5, -1.0
    for threshold in np.linspace(0.05, 0.95, 19):
        flagged = p >= threshold
        true = float((flagged & (y == 1)).sum())
        f1 = 2 * true / max(float(flagged.sum() + (y == 1).sum()), 1.0)
        if f1 > best_f1:
            best, best_f1 = float(threshold), f1
    return best


def fit_weights(train: list[Example], data: IndexData) -> Weights:
    """The ranker, then the coverage models on the rankings it gives."""
    answerable = [e for e in train if e.question.kind in ANSWERABLE_KINDS]
    ranker = fit_ranker(answerable)
    tops = {id(e): e.ranked(ranker) for e in train}
    found = {id(e): e.terms(data, tops[id(e)]) for e in train}

    on_or_off = [e for e in train if e.question.kind in (*ANSWERABLE_KINDS, OFF_TOPIC)]
    x = np.array([match_features(e.matrix, found[id(e)]) for e in on_or_off])
    y = np.array([e.question.kind == OFF_TOPIC for e in on_or_off], dtype=float)
    off_topic = _fit_model(x, y, MATCH_FEATURES)
    answerable_p = off_topic.probability(x[y == 0], MATCH_FEATURES)
    off_topic = _with_threshold(off_topic, _threshold_for(answerable_p, MAX_FALSE_NONE))

    labelled = [
        row
        for e in train
        if e.question.kind != OFF_TOPIC
        for row in _missing_labels(e, found[id(e)])
    ]
    never = Logistic(dict.fromkeys(TERM_FEATURES, 0.0), -30.0, 1.0)
    term_model = never
    if labelled and any(label for _, label in labelled):
        tx = np.array([f for f, _ in labelled])
        ty = np.array([label for _, label in labelled])
        term_model = _fit_model(tx, ty, TERM_FEATURES)
        threshold = _best_f1_threshold(term_model.probability(tx, TERM_FEATURES), ty)
        term_model = _with_threshold(term_model, threshold)

    so_far = Weights(ranker, off_topic, term_model, never)
    on_topic = [
        e
        for e in train
        if e.question.kind in (*ANSWERABLE_KINDS, NEAR_MISS)
        and verdict(e, data, so_far, tops[id(e)]).coverage != "none"
    ]
    px = np.array(
        [
            partial_features(
                found[id(e)],
                number_gap(e.text, data, tops[id(e)]),
                e.matrix,
                e.scores(ranker),
                so_far,
            )
            for e in on_topic
        ]
    )
    py = np.array([e.question.kind == NEAR_MISS for e in on_topic], dtype=float)
    partial = _fit_model(px, py, PARTIAL_FEATURES, standardise=True)
    answerable_p = partial.probability(px[py == 0], PARTIAL_FEATURES)
    partial = _with_threshold(partial, _threshold_for(answerable_p, MAX_FALSE_PARTIAL))
    return Weights(
        ranker,
        off_topic,
        term_model,
        partial,
        trained={
            "questions": len(train),
            "l2": L2,
            "max_false_none": MAX_FALSE_NONE,
            "max_false_partial": MAX_FALSE_PARTIAL,
        },
    )


def verdict(example: Example, data: IndexData, weights: Weights, top: np.ndarray) -> Verdict:
    if len(top) == 0:
        return Verdict("none", (), NO_MATCH, 0.0, 1.0 - weights.off_topic.threshold)
    scores = example.scores(weights.ranker)
    return judge(example.text, example.tokens, data, top, example.matrix, scores, weights)
