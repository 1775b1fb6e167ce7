"""`/ask` and the "Ask Quotebot" message command."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import Quotebot
from bot.questions import conversations, pipeline
from index.errors import QuotebotError

log = logging.getLogger(__name__)


def source_choices(bot: Quotebot, current: str) -> list[app_commands.Choice[str]]:
    """Sources whose id or title contains what the user typed, for autocomplete."""
    needle = current.casefold()
    return [
        app_commands.Choice(name=f"{s.title[:80]} ({s.id})"[:100], value=s.id)
        for s in bot.retriever.sources
        if needle in s.id.casefold() or needle in s.title.casefold()
    ][:25]


def asker_of(interaction: discord.Interaction) -> pipeline.Asker:
    return pipeline.Asker(interaction.user.id, interaction.guild_id, interaction.channel_id)


async def respond(
    bot: Quotebot,
    interaction: discord.Interaction,
    question: str,
    source: str | None = None,
    private: bool | None = None,
) -> None:
    """Validate and check limits (refusals are private and immediate), defer, then answer."""
    asker = asker_of(interaction)
    admitted = await pipeline.admit(
        bot, question, asker, source, settings_within=bot.settings.bot.database_wait_seconds
    )
    if private is None:
        private = admitted.config.private_by_default
    await interaction.response.defer(thinking=True, ephemeral=private)
    context = await conversations.previous_turn(
        bot, conversations.lookup_keys_of_command(interaction)
    )
    answered = await pipeline.answer(
        bot,
        admitted,
        private=private,
        context=context,
        turn_keys=conversations.turn_keys_of_command(interaction),
    )
    await interaction.followup.send(
        embed=answered.embed, view=answered.view, ephemeral=private, wait=True
    )


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
        private="Show the answer only to you (default: this server's setting)",
    )
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, 2000],
        source: str | None = None,
        private: bool | None = None,
    ) -> None:
        """Ask a question; get the article's own words that answer it."""
        await respond(self.bot, interaction, question, source, private)

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
        await respond(self.bot, interaction, message.content)


async def setup(bot: Quotebot) -> None:
    await bot.add_cog(Ask(bot))
