"""Hybrid ranking of one query against a built index, and the decision to abstain.

Ranking is weighted reciprocal rank fusion (RRF, Cormack et al. 2009) of three rankings of the
candidate paragraphs: paragraph cosine, best-sentence cosine and paragraph BM25. RRF needs no
calibration between score families; on the dev set it beats each family alone and every linear
blend tried (README "How answers are scored").

Ranks say nothing about whether anything answers at all, so abstention uses an absolute
*evidence* score: a weighted sum of the paragraph cosine, the best-sentence cosine and the best
sentence's BM25 squashed into [0, 1) by s / (s + saturation). When no candidate reaches the
threshold the answer abstains. Weights and threshold come from config; `python -m index eval`
prints the threshold the dev set supports.
"""

from __future__ import annotations

from typing import Literal, cast

import faiss
import numpy as np

from index.config import IndexSettings
from index.models import Answer, Hit, Scores
from index.search.query import Query
from index.search.store import IndexData

Method = Literal["hybrid", "dense", "bm25"]
METHODS: tuple[Method, ...] = ("hybrid", "dense", "bm25")


def _faiss_candidates(
    index: faiss.Index, vector: np.ndarray, n: int, rows: tuple[int, int] | None
) -> np.ndarray:
    n = min(n, index.ntotal)
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
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


def score(
    data: IndexData,
    query: Query,
    settings: IndexSettings,
    k: int,
    source: str | None = None,
    method: Method = "hybrid",
) -> Answer:
    """Rank paragraphs for `query`; abstain when no candidate has enough evidence."""
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
        return Answer(query.text, (), True, settings.abstain_threshold, (), source)

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
    paragraph_lexical = paragraph_bm25[candidates]

    evidence = (
        evidence_weights.paragraph * paragraph_cos
        + evidence_weights.sentence * sentence_cos
        + evidence_weights.sentence_bm25 * sentence_lexical
    )
    if method == "hybrid":
        weights = settings.ranking
        # Three terms: the sum is an array, never sum()'s start value 0.
        ranking = cast(
            np.ndarray,
            sum(
                weight / (weights.rrf_k + _ranks(values))
                for weight, values in (
                    (weights.paragraph, paragraph_cos),
                    (weights.sentence, sentence_cos),
                    (weights.bm25, paragraph_lexical),
                )
            ),
        )
    elif method == "dense":
        ranking = 0.5 * paragraph_cos + 0.5 * sentence_cos
    else:
        ranking = paragraph_lexical.astype(np.float64)

    order = np.lexsort((candidates, -ranking))[:k]
    hits = []
    for i in order.tolist():
        row = int(candidates[i])
        # Which sentence answers best, by the same evidence at sentence level: the highlight.
        segment = slice(offsets[i], offsets[i + 1])
        sentence_score = (
            evidence_weights.sentence * candidate_sentence_cos[segment]
            + evidence_weights.sentence_bm25 * candidate_sentence_lexical[segment]
        )
        best = float(sentence_score.max())
        chosen = tuple(
            int(j)
            for j in np.flatnonzero(sentence_score >= best - settings.highlight_margin * abs(best))
        )
        passage = data.passages[row]
        hits.append(
            Hit(
                passage=passage,
                score=round(float(ranking[i]), 6),
                highlight=" ".join(passage.sentences[j] for j in chosen),
                highlight_indices=chosen,
                scores=Scores(
                    paragraph=round(float(paragraph_cos[i]), 6),
                    sentence=round(float(sentence_cos[i]), 6),
                    bm25=round(float(sentence_lexical[i]), 6),
                    evidence=round(float(evidence[i]), 6),
                ),
            )
        )
    best_evidence = float(evidence.max())
    abstained = best_evidence < settings.abstain_threshold
    return Answer(
        query=query.text,
        hits=() if abstained else tuple(hits),
        abstained=abstained,
        threshold=settings.abstain_threshold,
        nearest=tuple(hits) if abstained else (),
        source=source,
        evidence=round(best_evidence, 6),
    )
