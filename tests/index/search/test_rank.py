"""Scoring internals whose shortcuts must give exactly what the slow, obvious way gives."""

from __future__ import annotations

import faiss
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from index.search.rank import _faiss_candidates, _top


@given(
    st.lists(st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 3.25]), min_size=0, max_size=60),
    st.integers(min_value=1, max_value=70),
)
def test_bm25_shortlist_is_the_n_best_paragraphs_ties_to_the_earlier(values, n):
    """The BM25 shortlist holds the same paragraphs as a full stable sort's first n (ties too)."""
    scores = np.asarray(values, dtype=np.float32)
    expected = set(np.argsort(-scores, kind="stable")[:n].tolist())
    assert set(_top(scores, n).tolist()) == expected


@given(
    st.integers(min_value=1, max_value=40),
    st.integers(min_value=0, max_value=39),
    st.integers(min_value=1, max_value=40),
    st.booleans(),
)
def test_all_candidates_without_a_search_are_what_the_search_finds(size, first, span, ranged):
    """When every vector is a candidate, skipping the exact search gives the same candidates,
    within one source's rows too."""
    vectors = np.random.default_rng(size).standard_normal((size, 8)).astype(np.float32)
    index = faiss.IndexFlatIP(8)
    index.add(vectors)
    rows = (min(first, size - 1), min(first + span, size)) if ranged else None
    query = vectors[0]
    params = None
    if rows is not None:
        params = faiss.SearchParameters(sel=faiss.IDSelectorRange(rows[0], rows[1]))
    _, ids = index.search(query.reshape(1, -1), size, params=params)
    searched = sorted(i for i in ids[0].tolist() if i >= 0)
    assert sorted(_faiss_candidates(index, query, size, rows).tolist()) == searched
    assert sorted(_faiss_candidates(index, query, size + 5, rows).tolist()) == searched
