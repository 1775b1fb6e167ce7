"""The terminal console: the same retriever and rendering as the bot, a question per line."""

from __future__ import annotations

import asyncio
import io
import sys
from typing import TextIO

from bot.questions.batcher import Answerer
from bot.rendering.answers import render_answer
from bot.rendering.browsing import render_sources_page
from bot.rendering.text import TITLE_LIMIT, plain, to_text
from bot.settings import Settings
from index.errors import QuotebotError
from index.retriever import Retriever

PROMPT = "question> "
QUIT = {"quit", "exit", ":q"}


async def run_console(
    settings: Settings,
    retriever: Retriever,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> int:
    """Answer each line of `stdin` until `quit` or end of input; returns the exit code."""
    answerer = Answerer(
        retriever, settings.bot.batch_max_size, settings.bot.batch_max_wait_ms / 1000
    )
    if isinstance(stdin, io.TextIOWrapper):
        # A line of bytes that are not UTF-8 (a pasted binary, a wrong terminal encoding) is a
        # question with a few unreadable characters, not the end of the console.
        stdin.reconfigure(errors="replace")
    sources = {s.id: s for s in retriever.sources}
    titles = ", ".join(f"“{plain(s.title, TITLE_LIMIT)}”" for s in retriever.sources)
    stdout.write(
        f"Quotebot console. Ask about {titles}.\nType `sources` to list them, `quit` or Ctrl-D to leave.\n"
    )
    loop = asyncio.get_running_loop()
    try:
        while True:
            stdout.write(PROMPT)
            stdout.flush()
            line = await loop.run_in_executor(None, stdin.readline)
            if not line:
                stdout.write("\n")
                return 0
            question = line.strip()
            if question.lower() in QUIT:
                return 0
            if question.lower() == "sources":
                stdout.write(
                    to_text(render_sources_page(retriever.sources, retriever.built_at, 1, 50))
                    + "\n\n"
                )
                continue
            try:
                answer = await answerer.ask(question[: settings.bot.max_question_chars])
            except QuotebotError as exc:
                stdout.write(f"{exc}\n\n")
                continue
            view = render_answer(
                answer,
                sources,
                max_passage_chars=settings.bot.max_passage_chars,
                max_other_chars=settings.bot.max_other_passage_chars,
            )
            stdout.write(to_text(view) + "\n\n")
    finally:
        await answerer.close()
