"""Ranking of one query against a built index, and how much of it the article covers.

Candidates are the union of the best paragraphs by dense paragraph vectors, dense sentence
vectors and BM25 (`signals`). Four methods rank them:

- `learned` (the default): a weighted sum of the FEATURES of `index.search.features`, the
  token-level ones (late interaction) computed for the `late_candidates` best by the other
  signals only; weights and the
  coverage models (`index.search.coverage`) come from index/search/weights.json, fitted by
  `python -m index train` under grouped cross-validation (README "How answers are scored").
- `rrf`: the earlier ranking, weighted reciprocal rank fusion (Cormack et al. 2009) of paragraph
  cosine, best-sentence cosine and BM25, abstaining when an absolute *evidence* score (a weighted
  sum of the cosines and the best sentence's BM25 squashed by s / (s + saturation)) stays under
  the configured threshold. Kept to compare against; it never answers `partial`.
- `dense` and `bm25`: one family alone, with rrf's abstention.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast

import faiss
import numpy as np

from index.config import IndexSettings
from index.encoders.base import QueryTokens
from index.models import Answer, Hit, Scores
from index.search.coverage import NO_MATCH, Verdict, judge
from index.search.features import FEATURES, TOKEN_FEATURES, content_token_mask, rows_of_features
from index.search.late import TokenMatch, token_signals, token_weights
from index.search.query import Query
from index.search.store import IndexData
from index.search.weights import Weights

Method = Literal["learned", "rrf", "dense", "bm25"]
METHODS: tuple[Method, ...] = ("learned", "rrf", "dense", "bm25")


def _faiss_candidates(
    index: faiss.Index, vector: np.ndarray, n: int, rows: tuple[int, int] | None
) -> np.ndarray:
    n = min(n, index.ntotal)
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    if n == index.ntotal and isinstance(index, faiss.IndexFlat):
        # Exact search for every vector (one article): they are all candidates, no search needed.
        return np.arange(*(rows or (0, n)), dtype=np.int64)
    params = None
    if rows is not None:
        params = faiss.SearchParameters(sel=faiss.IDSelectorRange(rows[0], rows[1]))
    _, ids = index.search(vector.reshape(1, -1), n, params=params)
    ids = ids[0]
    return ids[ids >= 0]  # FAISS pads missing results with -1


def _bm25_scores(bm25: object, tokens: list[str], size: int) -> np.ndarray:
    if not tokens:
        return np.zeros(size, dtype=np.float32)
    return np.asarray(bm25.get_scores(tokens), dtype=np.float32)  # type: ignore[attr-defined]


def _top(values: np.ndarray, n: int) -> np.ndarray:
    """Positions of the `n` largest values, ties to the lower position (the set a stable argsort
    would give), unordered and without sorting the whole corpus."""
    if n >= len(values):
        return np.arange(len(values))
    nth = np.partition(values, len(values) - n)[len(values) - n]
    above = np.flatnonzero(values > nth)
    return np.concatenate([above, np.flatnonzero(values == nth)[: n - len(above)]])


def _ranks(values: np.ndarray) -> np.ndarray:
    """1 for the largest value; ties broken by position so results are deterministic."""
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[np.argsort(-values, kind="stable")] = np.arange(1, len(values) + 1)
    return ranks


@dataclass(frozen=True, slots=True)
class Signals:
    """What every method reads about the candidate paragraphs of one question."""

    candidates: np.ndarray  # paragraph rows, ascending
    paragraph_cos: np.ndarray
    sentence_cos: np.ndarray  # the best sentence's, per candidate
    paragraph_bm25: np.ndarray
    sentence_bm25: np.ndarray  # the best sentence's, raw
    sentence_lexical: np.ndarray  # the best sentence's, squashed into [0, 1)
    evidence: np.ndarray  # the rrf method's absolute score
    # Per sentence of the candidates (candidate i owns offsets[i]:offsets[i + 1]): the highlight.
    offsets: np.ndarray
    candidate_sentence_cos: np.ndarray
    candidate_sentence_lexical: np.ndarray

    def feature_matrix(self, data: IndexData, question: str) -> np.ndarray:
        """FEATURES of the candidates, TOKEN_FEATURES left at 0 (see `token_features`)."""
        return rows_of_features(
            question=question,
            candidates=self.candidates,
            paragraph_cosine=self.paragraph_cos,
            sentence_cosine=self.sentence_cos,
            paragraph_bm25=self.paragraph_bm25,
            sentence_bm25=self.sentence_bm25,
            late_interaction=np.zeros(len(self.candidates)),
            people=data.people,
        )


def signals(
    data: IndexData, query: Query, settings: IndexSettings, source: str | None = None
) -> Signals | None:
    """The candidates of `query` (dense paragraphs, dense sentences and BM25, the best
    `settings.candidates` of each) and their scores; None when there are none."""
    rows = data.source_rows[source] if source else None
    sentence_rows = (
        (int(data.sentence_start[rows[0]]), int(data.sentence_start[rows[1]])) if rows else None
    )
    paragraph_bm25 = _bm25_scores(data.paragraph_bm25, query.tokens, len(data.passages))
    sentence_bm25 = _bm25_scores(data.sentence_bm25, query.tokens, len(data.sentence_owner))

    n = settings.candidates
    lexical = _top(paragraph_bm25, n)
    if rows is not None:
        lexical = lexical[(lexical >= rows[0]) & (lexical < rows[1])]
    lexical = lexical[paragraph_bm25[lexical] > 0]
    candidates = np.unique(
        np.concatenate(
            [
                _faiss_candidates(data.paragraph_index, query.vector, n, rows),
                data.sentence_owner[
                    _faiss_candidates(data.sentence_index, query.vector, n, sentence_rows)
                ],
                lexical,
            ]
        )
    )
    if len(candidates) == 0:
        return None

    starts = data.sentence_start[candidates]
    ends = data.sentence_start[candidates + 1]
    paragraph_cos = data.paragraph_vectors[candidates] @ query.vector
    # Cosines of the candidates' sentences only: the cost follows the candidates, not the corpus.
    offsets = np.concatenate([[0], np.cumsum(ends - starts)])
    sentence_rows_of_candidates = np.repeat(starts - offsets[:-1], ends - starts) + np.arange(
        offsets[-1]
    )
    candidate_sentence_cos = data.sentence_vectors[sentence_rows_of_candidates] @ query.vector
    evidence_weights = settings.evidence
    saturation = evidence_weights.bm25_saturation
    candidate_sentence_bm25 = sentence_bm25[sentence_rows_of_candidates]
    candidate_sentence_lexical = candidate_sentence_bm25 / (candidate_sentence_bm25 + saturation)
    # Best sentence of each candidate (every paragraph has at least one sentence).
    sentence_cos = np.maximum.reduceat(candidate_sentence_cos, offsets[:-1])
    sentence_lexical = np.maximum.reduceat(candidate_sentence_lexical, offsets[:-1])
    return Signals(
        candidates=candidates,
        paragraph_cos=paragraph_cos,
        sentence_cos=sentence_cos,
        paragraph_bm25=paragraph_bm25[candidates],
        sentence_bm25=np.maximum.reduceat(candidate_sentence_bm25, offsets[:-1]),
        sentence_lexical=sentence_lexical,
        evidence=(
            evidence_weights.paragraph * paragraph_cos
            + evidence_weights.sentence * sentence_cos
            + evidence_weights.sentence_bm25 * sentence_lexical
        ),
        offsets=offsets,
        candidate_sentence_cos=candidate_sentence_cos,
        candidate_sentence_lexical=candidate_sentence_lexical,
    )


def token_features(
    data: IndexData, question: str, tokens: QueryTokens, rows: np.ndarray
) -> tuple[np.ndarray, TokenMatch]:
    """TOKEN_FEATURES of the question against each paragraph in `rows` (`late.token_signals`),
    and the token products they came from (coverage reads them again)."""
    weights = token_weights(tokens.ids, data.token_idf)
    content = weights * content_token_mask(question, tokens)
    match = TokenMatch.of(tokens.vectors, data.tokens, rows)
    found = token_signals(
        match,
        weights,
        content if content.sum() > 0 else weights,
        data.tokens,
        data.sentence_tokens,
        data.token_idf,
    )
    return found, match


def _learned(
    data: IndexData,
    query: Query,
    found: Signals,
    shortlist_size: int,
    weights: Weights,
) -> tuple[np.ndarray, np.ndarray, Verdict]:
    """Ranking scores, the late-interaction column and the coverage verdict of the learned method."""
    if query.token_vectors is None:
        raise ValueError("the learned ranking needs the question's token vectors")
    matrix = found.feature_matrix(data, query.text)
    # MaxSim reads token vectors, so only the best candidates by every other signal get it; the
    # others stay behind them.
    shortlist = np.argsort(-weights.rank_scores(matrix, FEATURES), kind="stable")[:shortlist_size]
    columns = np.array([FEATURES.index(name) for name in TOKEN_FEATURES])
    matrix[np.ix_(shortlist, columns)], products = token_features(
        data, query.text, query.token_vectors, found.candidates[shortlist]
    )
    late = matrix[:, FEATURES.index("late_interaction")]
    ranking = weights.rank_scores(matrix, FEATURES)
    behind = np.ones(len(ranking), dtype=bool)  # a mask: setdiff1d would sort, every question
    behind[shortlist] = False
    ranking[behind] = ranking[shortlist].min() - 1.0
    top = found.candidates[np.lexsort((found.candidates, -ranking))]
    verdict = judge(query.text, query.token_vectors, data, top, matrix, ranking, weights, products)
    return ranking, late, verdict


def score(
    data: IndexData,
    query: Query,
    settings: IndexSettings,
    k: int,
    source: str | None = None,
    method: Method = "learned",
    weights: Weights | None = None,
) -> Answer:
    """Rank paragraphs for `query` and judge how much of it they cover (`index.search.coverage`).

    "learned" ranks by the fitted weights and judges coverage with the fitted models; the other
    methods abstain on the evidence threshold and never say `partial`.
    """
    found = signals(data, query, settings, source)
    if found is None:
        return Answer(
            query.text, (), True, settings.abstain_threshold, (), source, 0.0, "none", (), NO_MATCH
        )
    late = np.zeros(len(found.candidates))
    verdict: Verdict | None = None
    if method == "learned":
        if weights is None:
            raise ValueError(
                "the learned ranking needs weights (index.search.weights.load_weights)"
            )
        shortlist = max(settings.late_candidates, k)
        ranking, late, verdict = _learned(data, query, found, shortlist, weights)
    elif method == "rrf":
        rrf = settings.ranking
        # Three terms: the sum is an array, never sum()'s start value 0.
        ranking = cast(
            np.ndarray,
            sum(
                weight / (rrf.rrf_k + _ranks(values))
                for weight, values in (
                    (rrf.paragraph, found.paragraph_cos),
                    (rrf.sentence, found.sentence_cos),
                    (rrf.bm25, found.paragraph_bm25),
                )
            ),
        )
    elif method == "dense":
        ranking = 0.5 * found.paragraph_cos + 0.5 * found.sentence_cos
    else:
        ranking = found.paragraph_bm25.astype(np.float64)
    if verdict is None:
        best_evidence = float(found.evidence.max())
        abstained = best_evidence < settings.abstain_threshold
        verdict = Verdict(
            coverage="none" if abstained else "full",
            missing=(),
            reason=NO_MATCH if abstained else "",
            evidence=best_evidence,
            threshold=settings.abstain_threshold,
        )

    order = np.lexsort((found.candidates, -ranking))[:k]
    hits = tuple(_hit(data, found, i, float(ranking[i]), float(late[i]), settings) for i in order)
    abstained = verdict.coverage == "none"
    return Answer(
        query=query.text,
        hits=() if abstained else hits,
        abstained=abstained,
        threshold=round(verdict.threshold, 6),
        nearest=hits if abstained else (),
        source=source,
        evidence=round(verdict.evidence, 6),
        coverage=verdict.coverage,
        missing=verdict.missing,
        reason=verdict.reason,
    )


def _hit(
    data: IndexData, found: Signals, i: int, rank_score: float, late: float, settings: IndexSettings
) -> Hit:
    # Which sentence answers best, by the evidence at sentence level: the highlight.
    segment = slice(found.offsets[i], found.offsets[i + 1])
    evidence_weights = settings.evidence
    sentence_score = (
        evidence_weights.sentence * found.candidate_sentence_cos[segment]
        + evidence_weights.sentence_bm25 * found.candidate_sentence_lexical[segment]
    )
    best = float(sentence_score.max())
    chosen = tuple(
        int(j)
        for j in np.flatnonzero(sentence_score >= best - settings.highlight_margin * abs(best))
    )
    passage = data.passages[int(found.candidates[i])]
    return Hit(
        passage=passage,
        score=round(rank_score, 6),
        highlight=" ".join(passage.sentences[j] for j in chosen),
        highlight_indices=chosen,
        scores=Scores(
            paragraph=round(float(found.paragraph_cos[i]), 6),
            sentence=round(float(found.sentence_cos[i]), 6),
            bm25=round(float(found.sentence_lexical[i]), 6),
            evidence=round(float(found.evidence[i]), 6),
            late_interaction=round(late, 6),
        ),
    )
