"""`/ask` and the "Ask Quotebot" message command."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import NO_PINGS, Quotebot
from bot.rendering import render_answer, to_embed
from index.errors import QuotebotError
from index.query import clean_query

log = logging.getLogger(__name__)


class CooldownError(QuotebotError):
    """The user asked too often."""


def check_cooldown(bot: Quotebot, user_id: int) -> None:
    """Raise CooldownError with the wait when the user is over the per-user limit."""
    wait = bot.cooldowns.hit(user_id)
    if wait is not None:
        raise CooldownError(
            f"You're asking quickly: try again in {max(1, round(wait))} s "
            f"({bot.settings.bot.cooldown_questions} questions per "
            f"{bot.settings.bot.cooldown_seconds:g} s)."
        )


async def answer_embed(bot: Quotebot, question: str, source: str | None = None) -> discord.Embed:
    """Search (off the event loop) and render the answer as an embed."""
    answer = await bot.answerer.ask(question, source=source)
    view = render_answer(
        answer,
        {s.id: s for s in bot.retriever.sources},
        max_passage_chars=bot.settings.bot.max_passage_chars,
        max_other_chars=bot.settings.bot.max_other_passage_chars,
        question=question,
    )
    return to_embed(view)


def source_choices(bot: Quotebot, current: str) -> list[app_commands.Choice[str]]:
    """Sources whose id or title contains what the user typed, for autocomplete."""
    needle = current.casefold()
    return [
        app_commands.Choice(name=f"{s.title[:80]} ({s.id})"[:100], value=s.id)
        for s in bot.retriever.sources
        if needle in s.id.casefold() or needle in s.title.casefold()
    ][:25]


class Ask(commands.Cog):
    """Questions asked with slash and message commands."""

    def __init__(self, bot: Quotebot) -> None:
        self.bot = bot
        self.menu = app_commands.ContextMenu(name="Ask Quotebot", callback=self.ask_about_message)
        bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    @app_commands.command(name="ask")
    @app_commands.describe(
        question="What you want to know about the article",
        source="Search only this source (default: all)",
        private="Show the answer only to you",
    )
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, 2000],
        source: str | None = None,
        private: bool = False,
    ) -> None:
        """Ask a question; get the article's own words that answer it."""
        # Refuse before deferring, so a mistake is answered privately and at once.
        clean_query(question, self.bot.retriever.settings.max_query_chars)
        if source is not None:
            self.bot.retriever.source(source)
        check_cooldown(self.bot, interaction.user.id)
        await interaction.response.defer(thinking=True, ephemeral=private)
        embed = await answer_embed(self.bot, question, source)
        await interaction.followup.send(embed=embed, ephemeral=private, allowed_mentions=NO_PINGS)

    @ask.autocomplete("source")
    async def ask_source_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return source_choices(self.bot, current)

    async def ask_about_message(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        """Ask Quotebot about the text of this message."""
        if not message.content.strip():
            raise QuotebotError("That message has no text to ask about.")
        clean_query(message.content, self.bot.retriever.settings.max_query_chars)
        check_cooldown(self.bot, interaction.user.id)
        await interaction.response.defer(thinking=True)
        embed = await answer_embed(self.bot, message.content)
        await interaction.followup.send(embed=embed, allowed_mentions=NO_PINGS)


async def setup(bot: Quotebot) -> None:
    await bot.add_cog(Ask(bot))
