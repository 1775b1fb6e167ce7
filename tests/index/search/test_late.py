"""Late interaction within sentences: what a user notices (a paraphrase finds its paragraph) and
the token bookkeeping it stands on."""

from __future__ import annotations

import numpy as np

from index.search.late import (
    ParagraphTokens,
    SentenceStarts,
    TokenMatch,
    TokenRows,
    sentence_bounds,
)


def test_a_paraphrase_finds_the_paragraph_whose_sentence_says_it(retriever):
    """A question worded unlike the article gets the paragraph whose one sentence says what it
    asks first, not the one that shares its words over several sentences (neither question is in
    the bank the weights were fitted on)."""
    answer = retriever.search("What did the friendly farewell signal about Moscow's needs?")
    assert answer.hits[0].passage.number == 2  # "signalling two things: ... growing dependence"


def test_a_paraphrase_is_among_the_three_quoted_passages(retriever):
    """Asked in other words ("repression", "the Russian capital"), the answer still quotes the
    paragraph that has it ("the increasing crackdowns within Moscow") on its first page."""
    answer = retriever.search("Is there repression inside the Russian capital?")
    assert 4 in [hit.passage.number for hit in answer.hits[:3]]


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


def test_sentence_starts_gather_each_candidates_distinct_sentences_with_tokens():
    # Paragraph 0: sentences of 2 and 3 tokens; 1: truncated, its last two sentences hold none;
    # 2: one sentence; 3: no tokens at all.
    lengths, sentences = [5, 4, 2, 0], [[2, 3], [4, 3, 1], [2], [1]]
    tokens = ParagraphTokens(
        vectors=np.zeros((11, 2), dtype=np.int8),
        scales=np.ones(11, dtype=np.float32),
        ids=np.zeros(11, dtype=np.int32),
        start=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        sentence_start=sentence_bounds(lengths, sentences),
    )
    sentence_rows = np.array([0, 2, 5, 6, 7])
    rows = np.array([2, 0, 3, 1])
    _, offsets = tokens.gather(rows)
    starts, owner_start = SentenceStarts.of(tokens, sentence_rows).of_rows(rows, offsets)
    # Gathered: paragraph 2 at 0-1, paragraph 0 at 2-6, paragraph 3 empty, paragraph 1 at 7-10.
    assert starts.tolist() == [0, 2, 4, 7]
    assert owner_start.tolist() == [0, 1, 3, 3]


def test_token_products_of_some_paragraphs_are_those_computed_for_them_alone():
    """Coverage reads the products late interaction made for the best paragraphs instead of
    computing them again: the same numbers, and None when one paragraph was never matched."""
    rng = np.random.default_rng(0)
    rows = [
        TokenRows.quantise(rng.standard_normal((n, 8)).astype(np.float32), np.arange(n))
        for n in (3, 5, 2, 4)
    ]
    tokens = ParagraphTokens.stack(rows, 8, [[len(r.ids)] for r in rows])
    question = rng.standard_normal((6, 8)).astype(np.float32)
    shortlist = TokenMatch.of(question, tokens, np.array([3, 0, 2]))
    alone = TokenMatch.of(question, tokens, np.array([0, 3]))
    picked = shortlist.of_rows(np.array([0, 3]))
    assert picked is not None
    # Row order may differ; the multiset of rows is what coverage's max reads.
    assert sorted(map(tuple, picked.tolist())) == sorted(map(tuple, alone.similarities.tolist()))
    assert shortlist.of_rows(np.array([0, 1])) is None
