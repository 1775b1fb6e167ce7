"""Flood control and turning messages into questions."""

from __future__ import annotations

import pytest

from bot.questions.cooldowns import Cooldowns
from bot.questions.extract import mentions_user, question_from_message


def test_cooldown_allows_n_then_says_how_long_to_wait():
    """Five questions pass; the sixth is told how long to wait; the window slides."""
    now = [0.0]
    cooldowns = Cooldowns(5, 30, clock=lambda: now[0])
    assert all(cooldowns.hit(1) is None for _ in range(5))
    now[0] = 10
    assert cooldowns.hit(1) == pytest.approx(20)
    assert cooldowns.hit(2) is None  # per user
    now[0] = 30.5
    assert cooldowns.hit(1) is None


@pytest.mark.parametrize(
    ("content", "question"),
    [
        ("<@42> why does Russia need China?", "why does Russia need China?"),
        ("<@!42>   why?  ", "why?"),
        ("@everyone <@42> who is Dalton? @here <@&7> <#9>", "who is Dalton?"),
        ("<@42> <:pepe:123> drones", "pepe drones"),
        ("<@42>", ""),
    ],
)
def test_question_from_message(content, question):
    """The bot's mention and every ping are removed; the words stay."""
    assert question_from_message(content, 42) == question


def test_mentions_user_reads_the_text():
    """Only an explicit mention in the text counts."""
    assert mentions_user("hi <@42>", 42) and mentions_user("<@!42>", 42)
    assert not mentions_user("hi <@43>", 42)
