"""The learned ranking and coverage as a user meets them: who-questions, full/partial/none."""

from __future__ import annotations

import json
import mmap

import numpy as np
import pytest

from index.errors import QuotebotError
from index.retriever import Retriever
from index.search.weights import WEIGHTS_FILE, Weights, load_weights


def test_who_is_finds_the_paragraph_that_introduces_the_person(retriever):
    for question, number in (
        ("Who is Barbara Keleman?", 13),
        ("who is francis lee-saunders", 7),
        ("Who is David Dalton?", 4),
    ):
        answer = retriever.search(question)
        assert answer.coverage == "full", question
        assert answer.hits[0].passage.number == number, question


def test_who_said_answers_with_the_speaker(retriever):
    answer = retriever.search("Who said Russia is by no means completely alone?")
    best = answer.hits[0].passage
    assert best.number == 11 and best.speaker is not None
    assert best.speaker.name == "Francis Lee-Saunders"


def test_roles_and_organisations_are_searchable(retriever):
    """A description instead of a name ("the analyst from X") finds that person's quotes."""
    answer = retriever.search("what does the Dragonfly Intelligence analyst say Putin needs")
    speaker = answer.hits[0].passage.speaker
    assert speaker is not None and speaker.organisation == "Dragonfly Intelligence"


def test_coverage_full_partial_none(retriever):
    full = retriever.search("Which country supplies Russia with drones?")
    assert (full.coverage, full.missing, full.abstained) == ("full", (), False)
    assert full.hits[0].passage.number == 9

    named = retriever.search("What did Xi say about Macron?")
    assert named.coverage == "partial" and not named.abstained and named.hits
    assert named.missing == ("Macron",)
    assert named.reason == "The article doesn't mention Macron."

    number = retriever.search("How many drones has Iran sent to Russia?")
    assert number.coverage == "partial" and number.hits[0].passage.number == 9
    assert number.reason == "The article doesn't give a number for that."

    off_topic = retriever.search("What is the best pizza topping?")
    assert off_topic.coverage == "none" and off_topic.abstained and not off_topic.hits
    assert off_topic.nearest  # suggestions only


def test_near_misses_in_the_articles_words_but_one_are_partial(retriever):
    """A question about the article's subject that asks for one thing it never covers is not
    answered as if it were (none of these questions is in the bank the weights were fitted on)."""
    questions = [
        "what did the russian foreign ministry say",
        "what was the moscow summit called",
        "who is china's foreign minister",
        "what did xi say about space exploration",
    ]
    for question, answer in zip(questions, retriever.search_many(questions), strict=True):
        assert answer.coverage == "partial", question
        assert answer.hits, question  # still quotes the closest passage


def test_abstained_exactly_when_coverage_is_none(retriever):
    questions = [
        "Why did Putin start the war?",
        "How many tanks has Russia lost?",
        "Who won the Champions League final?",
        "wat did putin do when xi left",
    ]
    for answer in retriever.search_many(questions):
        assert answer.abstained == (answer.coverage == "none")
        assert bool(answer.hits) == (answer.coverage != "none")


def test_rrf_is_kept_and_never_partial(retriever):
    answer = retriever.search("What did Xi say about Macron?", method="rrf")
    assert answer.coverage in ("full", "none") and answer.missing == ()


def test_token_vectors_are_int8_and_read_memory_mapped(make_settings, encoder):
    """Per-token storage stays small (int8 and a scale) and is read from disk as needed."""
    settings = make_settings()
    built = Retriever(settings, encoder=encoder)
    tokens = built.data.tokens
    assert tokens.vectors.dtype == np.int8
    assert tokens.start[-1] == len(tokens.vectors) == len(tokens.ids) == len(tokens.scales)
    norms = np.linalg.norm(tokens.rows(np.arange(len(tokens.vectors))), axis=1)
    assert np.allclose(norms, 1.0, atol=0.01)  # unit vectors, barely moved by the rounding
    cached = Retriever(settings, encoder=encoder)  # loaded from disk this time
    # A view of the file's mapping, not a copy in memory.
    assert isinstance(cached.data.tokens.vectors.base.base, mmap.mmap)
    question = "Which country supplies Russia with drones?"
    assert cached.search(question).hits[0].score == pytest.approx(
        built.search(question).hits[0].score
    )


def test_weights_round_trip_and_a_missing_file_says_how_to_make_it(tmp_path):
    weights = load_weights()
    again = Weights.from_dict(json.loads(weights.to_json()))
    assert again == weights
    with pytest.raises(QuotebotError, match="python -m index train"):
        load_weights(tmp_path / "weights.json")
    broken = tmp_path / "broken.json"
    broken.write_text(WEIGHTS_FILE.read_text(encoding="utf-8")[:50], encoding="utf-8")
    with pytest.raises(QuotebotError, match="unreadable"):
        load_weights(broken)
