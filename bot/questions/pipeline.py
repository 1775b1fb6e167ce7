"""The path every question takes, whichever way it was asked.

`admit` shortens and cleans the question once, reads the server's settings once and checks the
cooldowns (refusals come before anything is spent); `answer` has the batcher search it, records
it and builds the answer's embed and buttons. Cogs only decide where the answer goes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord
from sqlalchemy.exc import SQLAlchemyError

from bot.questions.extract import shorten_and_clean
from bot.storage.database import GuildConfig
from bot.storage.failures import SLOW_DATABASE, failure
from bot.storage.shown import ShownAnswer, to_json
from bot.ui.answer import answer_embed, answer_view
from index.errors import QuotebotError
from index.search.followups import Context
from index.search.followups import resolve as resolve_followup

if TYPE_CHECKING:
    from bot.bot import Quotebot

log = logging.getLogger(__name__)


class CooldownError(QuotebotError):
    """The user (or the channel) asked too often."""


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asked, and where."""

    user_id: int
    guild_id: int | None
    channel_id: int | None


@dataclass(frozen=True, slots=True)
class Question:
    """A question admitted for an answer."""

    asked: str  # what the user wrote, shortened: recorded and echoed under the answer
    text: str  # cleaned once: what is searched
    asker: Asker
    config: GuildConfig  # the server's settings as read when it was asked (defaults in a DM)
    source: str | None = None


async def admit(
    bot: Quotebot,
    question: str,
    asker: Asker,
    source: str | None = None,
    settings_within: float | None = None,
) -> Question:
    """The question cleaned once, if the asker may ask now; QuotebotError says why not.
    `settings_within` bounds the wait for the server's settings (an interaction must be
    acknowledged in time)."""
    asked, text = shorten_and_clean(question, bot.settings.bot, bot.retriever, source)
    config = await server_config(bot, asker.guild_id, settings_within)
    check_cooldowns(bot, asker, config)
    return Question(asked, text, asker, config, source)


# Reads that outlived their wait, kept until they end: the loop holds tasks only weakly.
_late_reads: set[asyncio.Task[GuildConfig]] = set()

# What a question gets when the server's settings did not arrive in time: privately, because the
# server may have chosen private answers and a private answer to a public server only costs the
# asker a Share click; the bot's defaults for the rest.
UNKNOWN_SERVER = GuildConfig(private_by_default=True)


async def server_config(
    bot: Quotebot, guild_id: int | None, within: float | None = None
) -> GuildConfig:
    """The server's own settings; the defaults in a DM, or when they cannot be read (a question
    is still answered: the settings only tune how); UNKNOWN_SERVER when not read `within` s."""
    if guild_id is None:
        return GuildConfig()
    read = asyncio.ensure_future(bot.database.guild_config(guild_id))
    # Not wait_for: cancelling a read stuck in the driver can block as long as the read itself.
    done, _ = await asyncio.wait({read}, timeout=within)
    if not done:
        _late_reads.add(read)
        read.add_done_callback(_late_read_ended)
        log.warning(
            "the settings of server %s took over %g s to read; answering with the default "
            "settings, privately unless the asker chose otherwise, so as to acknowledge the "
            "question within Discord's 3 s: %s",
            guild_id,
            within,
            SLOW_DATABASE,
        )
        return UNKNOWN_SERVER
    try:
        return read.result()
    except (SQLAlchemyError, OSError) as exc:
        log.warning(
            "could not read the settings of server %s (%s); answering with the defaults: "
            "check the database (the bot checks it at start), then the server's /settings",
            guild_id,
            failure(exc),
        )
        return GuildConfig()


def _late_read_ended(read: asyncio.Task[GuildConfig]) -> None:
    # Its question is answered already and its WARNING logged: the outcome is only retrieved
    # (no "exception was never retrieved" at exit) and told at DEBUG.
    _late_reads.discard(read)
    if read.cancelled():
        return
    exc = read.exception()
    if exc is not None:
        log.debug("a late read of server settings ended with %s", failure(exc))


def check_cooldowns(bot: Quotebot, asker: Asker, config: GuildConfig) -> None:
    """Per-user (a server's own limit first) and per-channel limits; CooldownError says the wait."""
    limit = config.cooldown_questions or bot.settings.bot.cooldown_questions
    per = config.cooldown_seconds or bot.settings.bot.cooldown_seconds
    wait = bot.cooldowns.hit(asker.user_id, limit, per)
    if wait is not None:
        raise CooldownError(
            f"You're asking quickly: try again in {max(1, round(wait))} s "
            f"({limit} questions per {per:g} s)."
        )
    if asker.channel_id is not None:
        wait = bot.channel_cooldowns.hit(asker.channel_id)
        if wait is not None:
            raise CooldownError(
                f"This channel is asking quickly: try again in {max(1, round(wait))} s."
            )


@dataclass(frozen=True, slots=True)
class Answered:
    """An answer's embed and buttons, ready to post."""

    embed: discord.Embed
    view: discord.ui.View


async def answer(
    bot: Quotebot,
    question: Question,
    private: bool = False,
    context: Context | None = None,
    turn_keys: Sequence[str] = (),
) -> Answered:
    """Search off the event loop (as a follow-up of `context` when the question leans on it),
    store the answer and the turn it adds to the conversations `turn_keys`, and build its embed
    and buttons."""
    asker = question.asker
    per_page = question.config.k or bot.settings.index.k
    resolution = resolve_followup(
        question.text, context, max_chars=bot.retriever.settings.max_query_chars
    )
    result = await bot.answerer.ask_cleaned(
        resolution.query, k=per_page * bot.settings.bot.max_pages, source=question.source
    )
    shown = ShownAnswer(
        answer=result,
        question=question.asked,
        per_page=per_page,
        private=private,
        following=context.question if context is not None and resolution.follows_up else None,
    )
    try:
        answer_id: int | None = await bot.database.record_answer(
            guild_id=asker.guild_id,
            channel_id=asker.channel_id,
            user_id=asker.user_id,
            question=question.asked,
            abstained=result.abstained,
            passage_ids=[hit.passage.id for hit in result.hits[:per_page]],
            source=question.source,
            shown=to_json(shown),
            turn=Context.of(question.asked, resolution.query, result),
            turn_keys=turn_keys,
        )
    except (SQLAlchemyError, OSError) as exc:
        # Bookkeeping: the asker still gets the answer, only without buttons (each one redraws
        # the answer from its record), without a place in /stats and without follow-ups.
        log.error(
            "could not record the answer to %r (%s); sent without buttons: check the "
            "database (the bot checks it at start)",
            question.asked[:200],
            failure(exc),
        )
        answer_id = None
    view = answer_view(shown, answer_id) if answer_id is not None else discord.ui.View(timeout=None)
    return Answered(answer_embed(bot, shown), view)
