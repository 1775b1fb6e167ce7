"""Follow-up questions: which lean on the previous one, and what they are searched as."""

from __future__ import annotations

import pytest

from index.search.followups import MAX_CONTEXT_CHARS, Context, leans_on_context, resolve

PREVIOUS = Context("Who is the new coach?", "Who is the new coach?", speaker="Ann Berg")


@pytest.mark.parametrize(
    "question",
    [
        "what did he say about the match?",
        "does she agree?",
        "what do they want",
        "why?",
        "why not?",
        "and the budget?",
        "what about the fans?",
        "more on that",
        "who said so",
        "ticket prices too?",
        "how long will that last",
        "since when",
        "is it true?",
    ],
)
def test_questions_that_lean_on_the_previous_one(question):
    """Pronouns, bare continuations and pointing words make a question a follow-up."""
    assert leans_on_context(question)


@pytest.mark.parametrize(
    "question",
    [
        "Who is the new coach?",
        "Which club signed the striker last summer?",
        "Who said that the stadium would be rebuilt?",
        "how much did the stadium cost",
        "whos the captain btw",
    ],
)
def test_questions_that_stand_alone(question):
    """A complete question is answered as new, whatever was asked before."""
    assert not leans_on_context(question)
    assert resolve(question, PREVIOUS) == resolve(question, None)
    assert not resolve(question, PREVIOUS).follows_up


def test_a_follow_up_is_searched_after_the_previous_query():
    """The previous query comes first, as asked; "resolve" also names who "she" is."""
    assert resolve("why not?", PREVIOUS, "concat").query == "Who is the new coach? why not?"
    named = resolve("does she agree?", PREVIOUS, "resolve")
    assert named.query == "Who is the new coach? does Ann Berg agree?" and named.follows_up
    assert resolve("why not?", None).query == "why not?"


def test_a_long_chain_keeps_its_latest_turns_and_the_question():
    """However long a chain of follow-ups, the query stays bounded and ends with the question."""
    context = PREVIOUS
    for n in range(40):
        resolution = resolve(f"and the number {n} one?", context)
        context = Context(f"and the number {n} one?", resolution.query)
    assert len(resolution.query) <= MAX_CONTEXT_CHARS + 40
    assert resolution.query.endswith("and the number 39 one?")
    assert "number 38" in resolution.query


def test_the_context_gives_way_to_a_long_question():
    """A follow-up never makes the query longer than the index accepts; the question stays whole."""
    question = "and " + "what about the budget " * 20
    resolution = resolve(question, PREVIOUS, max_chars=len(question) + 10)
    assert (
        resolution.query.endswith(question.strip()) and len(resolution.query) <= len(question) + 10
    )
    assert resolve(question, PREVIOUS, max_chars=len(question)) == resolve(question, None)
