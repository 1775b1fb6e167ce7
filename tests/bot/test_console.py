"""The console as a way in: commands, answers worded for a terminal, follow-ups, line editing."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
import time

from bot.console import PROMPT, run_console
from index.config import PROJECT_ROOT
from tests.bot.conftest import make_bot_settings

TITLE = "Why Vladimir Putin needs Xi Jinping now more than ever"


async def session(retriever, *lines: str) -> list[str]:
    """The console's reply to each line, in order."""
    stdout = io.StringIO()
    stdin = io.StringIO("".join(line + "\n" for line in lines) + "quit\n")
    assert await run_console(make_bot_settings(retriever), retriever, stdin, stdout) == 0
    return stdout.getvalue().split(PROMPT)[1:-1]


async def test_commands_are_not_questions(retriever):
    """help lists the commands; sources, source ID and passage ID N show what they name."""
    help_, sources, source, passage, unknown, question = await session(
        retriever,
        "help",
        "sources",
        "source putin-needs-xi",
        "passage putin-needs-xi 9",
        "source nowhere",
        "source of the drones?",
    )
    for command in ("help", "sources", "source ID", "passage ID N", "quit"):
        assert command in help_
    assert TITLE in sources and "putin-needs-xi" in sources and "/ask" not in sources
    assert TITLE in source and "18" in source
    assert passage.startswith("> Putin is banking on Iran") and "¶9 · " + TITLE in passage
    assert "no source with id 'nowhere'" in unknown and "putin-needs-xi" in unknown
    assert "banking on Iran" in question  # two words after "source": a question, not a command


async def test_answers_keep_speaker_and_citation_without_discord_wording(retriever):
    """An answer shows its speaker and citation; an abstention claims no quote and says no /ask."""
    answer, abstention = await session(
        retriever,
        "Who said Russia is not alone on the world stage?",
        "What is the recipe for pancakes?",
    )
    assert (
        "— Francis Lee-Saunders, Dragonfly" in answer and f"· {TITLE} — The Independent" in answer
    )
    assert "quoted verbatim from the source" in answer
    assert abstention.lstrip().startswith(f"Nothing in *{TITLE}* answers that.")
    assert "quoted verbatim" not in abstention and "/ask" not in abstention


async def test_a_follow_up_in_the_console(retriever):
    """ "why not?" after a question is answered as its follow-up, and says so."""
    _, followed = await session(retriever, "Will China give Russia military aid?", "why not?")
    assert "(following up on: Will China give Russia military aid?)" in followed
    assert "will not compromise China’s economic recovery" in followed


def test_a_terminal_gets_line_editing_and_history(retriever):
    """On a terminal, the up arrow brings back the previous question (readline)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("QUOTEBOT_", "DISCORD_"))}
    env = {
        **clean,
        "TERM": "xterm",
        "QUOTEBOT_INDEX__SOURCES_DIR": str(retriever.settings.sources_dir),
        "QUOTEBOT_INDEX__CACHE_DIR": str(retriever.settings.cache_dir),
    }
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "--console"],
        cwd=PROJECT_ROOT,
        env=env,
        stdin=terminal,
        stdout=terminal,
        stderr=subprocess.DEVNULL,
    )
    os.close(terminal)
    output = b""

    def read_until(needle: bytes, count: int) -> None:
        nonlocal output
        deadline = time.monotonic() + 300
        while output.count(needle) < count:
            assert time.monotonic() < deadline, output[-2000:]
            ready, _, _ = select.select([controller], [], [], 1)
            if ready:
                output += os.read(controller, 65536)

    try:
        read_until(PROMPT.encode(), 1)
        os.write(controller, b"Which country supplies Russia with drones?\r")
        read_until(PROMPT.encode(), 2)
        os.write(controller, b"\x1b[A\r")  # up arrow: the same question again
        read_until(PROMPT.encode(), 3)
        os.write(controller, b"quit\r")
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)
    asked = b"Asked: Which country supplies Russia with drones?"
    assert output.count(asked) == 2, output[-3000:]


async def test_a_long_question_is_kept_cut_as_on_discord(retriever):
    """A question over the length limit is answered and echoed cut at the limit, as the bot does."""
    question = "Who said Russia is not alone on the world stage?"
    stdout = io.StringIO()
    stdin = io.StringIO(question + " filler" * 400 + "\nquit\n")
    settings = make_bot_settings(retriever, max_question_chars=len(question))
    assert await run_console(settings, retriever, stdin, stdout) == 0
    (answer,) = stdout.getvalue().split(PROMPT)[1:-1]
    assert "— Francis Lee-Saunders, Dragonfly" in answer
    assert question in answer and "filler" not in answer
