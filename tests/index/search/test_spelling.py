"""A mistyped question word still finds its paragraph's word: the closeness of spellings that
coverage reads, computed over arrays, is the word-by-word definition to the last digit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from index.models import Passage
from index.search.features import spelling_closeness, words
from index.search.spelling import ArticleWords

_LETTERS = st.text(alphabet="abcdeélnorst'’", min_size=1, max_size=9)
_PARAGRAPHS = st.lists(
    st.lists(_LETTERS, min_size=0, max_size=12).map(" ".join), min_size=1, max_size=6
)


def _passages(texts: list[str]) -> list[Passage]:
    return [Passage(f"p{i}", "s", i + 1, text, (text,)) for i, text in enumerate(texts)]


def test_a_typo_is_close_and_a_stranger_is_not():
    article = ArticleWords.of(_passages(["Marta Kowalczyk said so.", "The mayor met the baker."]))
    near = article.near(np.array([0]))
    assert near.closest("kowalczyk") == 1.0
    assert near.closest("kowalczyck") > 0.7 > near.closest("baker")
    assert article.near(np.array([1])).closest("kowalczyck") < 0.3  # only paragraph 1 names her
    assert article.near(np.zeros(0, dtype=np.int64)).closest("kowalczyk") == 0.0


@settings(max_examples=200, deadline=None)
@given(_PARAGRAPHS, _LETTERS, st.data())
def test_closest_is_the_best_pairwise_closeness(texts, word, data):
    passages = _passages(texts)
    rows = data.draw(st.lists(st.integers(0, len(texts) - 1), max_size=len(texts), unique=True))
    folded = (words(word) or ["x"])[0]
    nearby = {w for row in rows for w in words(passages[row].text)}
    expected = max((spelling_closeness(folded, w) for w in nearby), default=0.0)
    got = ArticleWords.of(passages).near(np.array(rows, dtype=np.int64)).closest(folded)
    assert got == expected
