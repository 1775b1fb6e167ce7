"""The answer as stored for its buttons: everything a redraw shows comes back the same."""

from __future__ import annotations

from bot.storage.shown import ShownAnswer, from_json, to_json
from index.models import Answer, Hit, Passage, Scores


def _passage(number: int) -> Passage:
    sentences = (f"First sentence of {number}.", f"Second sentence of {number}.")
    return Passage(f"p{number}", "src", number, " ".join(sentences), sentences)


def test_a_partial_answer_round_trips():
    """Hits, highlights, every score, coverage, missing words and reason survive storage."""
    passages = {p.id: p for p in (_passage(1), _passage(2))}
    hits = tuple(
        Hit(p, 0.5 - n / 10, p.sentences[1], (1,), Scores(0.4, 0.5, 0.2, 0.3, 0.7))
        for n, p in enumerate(passages.values())
    )
    answer = Answer(
        "how many tanks?",
        hits,
        False,
        0.14,
        source="src",
        evidence=0.31,
        coverage="partial",
        missing=("tanks",),
        reason="The article doesn't give a number for that.",
    )
    shown = ShownAnswer(answer, "how many tanks?", 3, True, following="Who is Dalton?")
    assert from_json(to_json(shown), passages.get) == shown


def test_an_answer_whose_passage_is_gone_cannot_be_redrawn():
    """After a reload removed a quoted paragraph, the stored answer is not redrawn."""
    passage = _passage(1)
    hit = Hit(passage, 0.5, passage.sentences[0], (0,), Scores(0.4, 0.5, 0.2, 0.3))
    shown = ShownAnswer(Answer("q", (hit,), False, 0.14), "q", 3, False)
    assert from_json(to_json(shown), {}.get) is None
