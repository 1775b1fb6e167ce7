"""The terminal console: the same retriever and rendering as the bot, a question or command a line.

Arrow keys and history come from readline when stdin is a terminal; piped input is read line by
line. A question that leans on the previous one ("what did he say about it?") is its follow-up,
as in a Discord conversation.
"""

from __future__ import annotations

import asyncio
import io
import sys
import time
from collections.abc import Callable
from typing import TextIO

from bot.questions.batcher import Answerer
from bot.questions.extract import shorten_and_clean
from bot.rendering.answers import render_answer
from bot.rendering.browsing import render_passage, render_source, render_sources_page
from bot.rendering.text import TITLE_LIMIT, plain, to_text
from bot.settings import Settings
from index.errors import QuotebotError
from index.retriever import Retriever
from index.search.followups import Context
from index.search.followups import resolve as resolve_followup

PROMPT = "question> "
QUIT = {"quit", "exit", ":q"}
HELP = """Commands:
  help            this list
  sources         the sources I can quote
  source ID       one source: publisher, paragraphs and how it opens
  passage ID N    paragraph N of source ID, verbatim
  quit            leave (Ctrl-D works too)
Anything else is a question. One that leans on the previous question ("what did he say
about it?") is answered as its follow-up."""
ASK_HINT = "Type a question, or help for the commands."


def _line_reader(stdin: TextIO, stdout: TextIO) -> Callable[[], str | None]:
    """A blocking function returning the next line (None at end of input)."""
    if stdin is sys.stdin and stdin.isatty():
        import readline  # noqa: F401 - importing it gives input() line editing and history

        def read_terminal() -> str | None:
            try:
                return input(PROMPT)
            except EOFError:
                return None

        return read_terminal

    def read_piped() -> str | None:
        stdout.write(PROMPT)
        stdout.flush()
        line = stdin.readline()
        return line if line else None

    return read_piped


class Console:
    """One console session: commands, questions and the conversation so far."""

    def __init__(self, settings: Settings, retriever: Retriever, answerer: Answerer) -> None:
        self.settings = settings
        self.retriever = retriever
        self.answerer = answerer
        self.turn: Context | None = None
        self.turn_at = 0.0

    def command(self, line: str) -> str | None:
        """The reply to a command, or None when the line is a question."""
        words = line.split()
        name = words[0].lower() if words else ""
        if len(words) == 1 and name == "help":
            return HELP
        if len(words) == 1 and name == "sources":
            sources = self.retriever.sources
            return to_text(
                render_sources_page(
                    sources, self.retriever.built_at, 1, max(len(sources), 1), hint=ASK_HINT
                )
            )
        if len(words) == 2 and name == "source":
            return to_text(render_source(self.retriever.source(words[1])))
        if len(words) == 3 and name == "passage" and words[2].isdigit():
            source = self.retriever.source(words[1])
            return to_text(render_passage(self.retriever.passage(source.id, int(words[2])), source))
        return None

    async def ask(self, question: str) -> str:
        settings = self.settings.bot
        question, text = shorten_and_clean(question, settings, self.retriever)
        context = self.turn
        if context is not None and time.monotonic() - self.turn_at > settings.followup_seconds:
            context = None
        resolution = resolve_followup(
            text, context, max_chars=self.retriever.settings.max_query_chars
        )
        answer = await self.answerer.ask_cleaned(resolution.query)
        self.turn, self.turn_at = Context.of(question, resolution.query, answer), time.monotonic()
        view = render_answer(
            answer,
            {s.id: s for s in self.retriever.sources},
            max_passage_chars=settings.max_passage_chars,
            max_other_chars=settings.max_other_passage_chars,
            question=question,
            following=context.question if context and resolution.follows_up else None,
        )
        return to_text(view)

    async def reply(self, line: str) -> str:
        try:
            return self.command(line) or await self.ask(line)
        except QuotebotError as exc:
            return str(exc)


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
    console = Console(settings, retriever, answerer)
    titles = ", ".join(f"“{plain(s.title, TITLE_LIMIT)}”" for s in retriever.sources)
    stdout.write(f"Quotebot console. Ask about {titles}.\nType `help` for the commands.\n")
    read = _line_reader(stdin, stdout)
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, read)
            if line is None:
                stdout.write("\n")
                return 0
            line = line.strip()
            if line.lower() in QUIT:
                return 0
            stdout.write(await console.reply(line) + "\n\n")
    finally:
        await answerer.close()
