"""Late interaction within sentences: what a user notices (a paraphrase finds its paragraph) and
the token bookkeeping it stands on."""

from __future__ import annotations

import numpy as np

from index.search.late import sentence_bounds


def test_a_paraphrase_finds_the_paragraph_whose_sentence_says_it(retriever):
    """A question worded unlike the article ("repression", "the Russian capital") gets the
    paragraph whose one sentence says it ("the increasing crackdowns within Moscow") first, not
    one that shares its common words over several sentences (no question here is in the bank the
    weights were fitted on)."""
    answer = retriever.search("Is there repression inside the Russian capital?")
    assert answer.hits[0].passage.number == 4


def test_a_paraphrase_in_other_words_than_the_articles_finds_its_paragraph(retriever):
    """Asked about "the former Soviet south", the answer first quotes the paragraph that says
    Russia is "losing influence in central Asia"."""
    answer = retriever.search("What happens to Russian influence in the former Soviet south?")
    assert answer.hits[0].passage.number == 4


def test_sentences_split_a_paragraphs_tokens_in_order():
    """Each sentence starts where the previous one's tokens end, paragraph after paragraph."""
    starts = sentence_bounds([5, 4], [[2, 3], [1, 1, 2]])
    assert starts.tolist() == [0, 2, 5, 6, 7, 9]


def test_sentences_past_a_truncated_paragraph_get_no_tokens():
    """The model reads at most its window: sentences past it have no tokens, and the counts
    never run past the paragraph's own tokens."""
    starts = sentence_bounds([6, 3], [[4, 4, 4], [3]])
    assert starts.tolist() == [0, 4, 6, 6, 9]
    assert np.all(np.diff(starts) >= 0)


def test_a_miscounted_last_sentence_takes_the_paragraphs_remaining_tokens():
    """Counts that fall short still cover the paragraph, so no token is left out of a sentence."""
    assert sentence_bounds([7], [[2, 3]]).tolist() == [0, 2, 7]
