"""Hostile questions typed into the console (`python -m bot --console`): each gets a short,
sensible answer or refusal, and the console keeps going."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.console import PROMPT
from index.config import PROJECT_ROOT
from index.ingest.text import normalise_for_match
from tests.reliability.hostile import CASES, Hostile

CONSOLE_CASES = [c for c in CASES if c.console_text is not None]
# Longest sensible reply: one embed's worth of text (6000) plus the console's separators.
MAX_REPLY_CHARS = 7000


@pytest.fixture(scope="module")
def console_replies(process_env: dict[str, str]) -> dict[str, str]:
    """Every console case typed, one per line, into one console; its reply to each, by case id."""
    lines = [c.console_text for c in CONSOLE_CASES]
    assert all(line is not None and "\n" not in line and "\r" not in line for line in lines)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--console"],
        cwd=PROJECT_ROOT,
        env={**process_env, "PYTHONIOENCODING": "utf-8"},
        input="\n".join(str(line) for line in lines) + "\nquit\n",
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    chunks = done.stdout.split(PROMPT)
    assert len(chunks) == len(lines) + 2, done.stdout[-3000:]  # banner, replies, after quit
    return {case.id: chunk for case, chunk in zip(CONSOLE_CASES, chunks[1:-1], strict=True)}


@pytest.mark.parametrize("case", CONSOLE_CASES, ids=lambda case: case.id)
def test_hostile_question_in_the_console(console_replies: dict[str, str], case: Hostile):
    """The console answers a hostile line with a bounded quote, the abstention, or what to ask."""
    reply = console_replies[case.id]
    assert reply.strip() and len(reply) <= MAX_REPLY_CHARS
    if case.expect == "answer":
        assert "¶" in reply or "answers that." in reply, reply[:500]
    else:
        assert "question" in reply and "¶" not in reply, reply[:500]
    if case.gold:
        assert case.gold in normalise_for_match(reply), reply[:500]
    assert "\x00" not in reply and "\u202e" not in reply
