"""Scoring internals whose shortcuts must give exactly what the slow, obvious way gives."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from index.search.rank import _top


@given(
    st.lists(st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, 3.25]), min_size=0, max_size=60),
    st.integers(min_value=1, max_value=70),
)
def test_bm25_shortlist_is_the_n_best_paragraphs_ties_to_the_earlier(values, n):
    """The BM25 shortlist holds the same paragraphs as a full stable sort's first n (ties too)."""
    scores = np.asarray(values, dtype=np.float32)
    expected = set(np.argsort(-scores, kind="stable")[:n].tolist())
    assert set(_top(scores, n).tolist()) == expected
