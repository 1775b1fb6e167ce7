"""The micro-batcher every cog asks through: bursts answered together, each caller its own answer."""

from __future__ import annotations

import asyncio

from bot.questions.batcher import Answerer
from index.errors import EmptyQueryError, SourceNotFoundError

QUESTIONS = [
    "Where did Xi and Putin meet?",
    "Why does Moscow depend more and more on Beijing?",
    "What did Xi give Putin instead of weapons?",
    "Who supplies Russia with drones?",
    "Why?",
    "What do analysts say China wants from Russia in the long run, according to the article?",
]


def top(answer) -> str | None:
    return answer.hits[0].passage.id if answer.hits else None


async def test_a_burst_gets_each_caller_the_answer_it_gets_alone(retriever):
    """40 questions at once, several k values: every caller gets what asking alone gives."""
    burst = [(QUESTIONS[i % len(QUESTIONS)], 1 + i % 3) for i in range(40)]
    answerer = Answerer(retriever, max_batch=64, max_wait=0.02)
    try:
        answers = await asyncio.gather(*(answerer.ask(q, k=k) for q, k in burst))
    finally:
        await answerer.close()
    for (question, k), answer in zip(burst, answers, strict=True):
        alone = retriever.search(question, k=k)
        assert [h.passage.id for h in answer.hits] == [h.passage.id for h in alone.hits]
        assert answer.abstained == alone.abstained
    # One burst, three values of k, each fewer questions than a chunk: three forward passes.
    assert answerer.batches == 3


async def test_the_first_answers_of_a_burst_arrive_before_the_last_chunk(retriever):
    """A burst bigger than one chunk is answered chunk by chunk, the shortest questions first."""
    chunk = retriever.query_encoder.question_chunk
    long_ones = [
        f"{q} Quote the exact paragraph of the article that says so, word for word."
        for q in QUESTIONS
    ]
    burst = long_ones * 2 + [QUESTIONS[i % 4] for i in range(chunk)]
    answerer = Answerer(retriever, max_batch=64, max_wait=0.02)
    finished: list[str] = []

    async def ask(question: str) -> None:
        await answerer.ask(question)
        finished.append(question)

    try:
        await asyncio.gather(*(ask(q) for q in burst))
    finally:
        await answerer.close()
    assert answerer.batches == 2
    assert set(finished[:chunk]) <= set(QUESTIONS[:4])


async def test_one_bad_question_fails_alone(retriever):
    """An empty question or an unknown source fails its caller; the rest of the burst is answered."""
    answerer = Answerer(retriever, max_wait=0.02)
    try:
        results = await asyncio.gather(
            answerer.ask(QUESTIONS[0]),
            answerer.ask("   "),
            answerer.ask(QUESTIONS[1], source="no-such-article"),
            answerer.ask(QUESTIONS[2]),
            return_exceptions=True,
        )
    finally:
        await answerer.close()
    assert top(results[0]) == top(retriever.search(QUESTIONS[0]))
    assert isinstance(results[1], EmptyQueryError)
    assert isinstance(results[2], SourceNotFoundError)
    assert "putin-needs-xi" in str(results[2])
    assert top(results[3]) == top(retriever.search(QUESTIONS[2]))


async def test_a_lone_surrogate_in_a_burst_costs_nobody_an_answer(retriever):
    """20 askers at once, one with a lone surrogate (the tokenizer would raise on it): all 20 get
    the answer they get alone, the surrogate one included (it is stripped)."""
    burst = [QUESTIONS[i % len(QUESTIONS)] for i in range(19)] + [
        "Who supplies Russia\ud800 with drones?"
    ]
    answerer = Answerer(retriever, max_batch=64, max_wait=0.05)
    try:
        answers = await asyncio.gather(*(answerer.ask(q) for q in burst))
    finally:
        await answerer.close()
    assert top(answers[-1]) == top(retriever.search("Who supplies Russia with drones?"))
    for question, answer in zip(burst[:-1], answers, strict=False):
        assert top(answer) == top(retriever.search(question))


async def test_a_batch_that_fails_is_answered_one_by_one(retriever, monkeypatch, caplog):
    """Whatever makes retrieval raise for one question, only its asker gets the error: the batch
    it joined is answered question by question."""
    poison = "What does the poison question break?"
    answer_chunks = retriever.answer_chunks

    def breaks_on_poison(texts, *args, **kwargs):
        if poison in texts:
            raise RuntimeError("the tokenizer could not take that")
        return answer_chunks(texts, *args, **kwargs)

    monkeypatch.setattr(retriever, "answer_chunks", breaks_on_poison)
    burst = [QUESTIONS[i % len(QUESTIONS)] for i in range(19)] + [poison]
    answerer = Answerer(retriever, max_batch=64, max_wait=0.05)
    try:
        results = await asyncio.gather(*(answerer.ask(q) for q in burst), return_exceptions=True)
    finally:
        await answerer.close()
    assert isinstance(results[-1], RuntimeError)
    for question, result in zip(burst[:-1], results, strict=False):
        assert not isinstance(result, BaseException), result
        assert top(result) == top(retriever.search(question))
