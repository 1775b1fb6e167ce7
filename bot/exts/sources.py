"""`/sources`, `/source` and `/passage`: what the bot knows, and any paragraph verbatim."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import Quotebot
from bot.exts.ask import source_choices
from bot.rendering.browsing import render_passage, render_source
from bot.ui.embeds import to_embed
from bot.ui.source_pages import source_page

log = logging.getLogger(__name__)


class Sources(commands.Cog):
    """Browsing the sources."""

    def __init__(self, bot: Quotebot) -> None:
        self.bot = bot

    @app_commands.command(name="sources")
    async def sources(self, interaction: discord.Interaction) -> None:
        """List the articles I can quote."""
        embed, view = source_page(self.bot, 1)
        if view is None:
            await interaction.response.send_message(embed=embed)
            return
        await interaction.response.send_message(embed=embed, view=view)

    @app_commands.command(name="source")
    @app_commands.describe(id="The source's id (start typing its title)")
    async def source(self, interaction: discord.Interaction, id: str) -> None:
        """Show one source's details and how it begins."""
        source = self.bot.retriever.source(id)
        await interaction.response.send_message(embed=to_embed(render_source(source)))

    @app_commands.command(name="passage")
    @app_commands.describe(source="The source's id", number="Paragraph number, from 1")
    async def passage(
        self,
        interaction: discord.Interaction,
        source: str,
        number: app_commands.Range[int, 1, 100_000],
    ) -> None:
        """Quote one paragraph of a source, verbatim."""
        passage = self.bot.retriever.passage(source, number)
        view = render_passage(passage, self.bot.retriever.source(source))
        await interaction.response.send_message(embed=to_embed(view))

    @source.autocomplete("id")
    @passage.autocomplete("source")
    async def source_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return source_choices(self.bot, current)


async def setup(bot: Quotebot) -> None:
    await bot.add_cog(Sources(bot))
