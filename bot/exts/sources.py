"""`/sources`, `/source` and `/passage`: what the bot knows, and any paragraph verbatim."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import NO_PINGS, Quotebot
from bot.exts.ask import source_choices
from bot.rendering.answers import (
    page_count,
    render_passage,
    render_source,
    render_sources_page,
    to_embed,
)
from bot.ui.expiry import ExpiringView

log = logging.getLogger(__name__)


class SourcePages(ExpiringView):
    """Previous/Next buttons over the source list; disabled when they time out."""

    def __init__(self, bot: Quotebot, owner_id: int, timeout: float = 300) -> None:
        super().__init__(timeout=timeout)
        self.bot = bot
        self.owner_id = owner_id
        self.page = 1
        self._sync_buttons()

    @property
    def pages(self) -> int:
        return page_count(len(self.bot.retriever.sources), self.bot.settings.bot.sources_per_page)

    def embed(self) -> discord.Embed:
        return to_embed(
            render_sources_page(
                self.bot.retriever.sources,
                self.bot.retriever.built_at,
                self.page,
                self.bot.settings.bot.sources_per_page,
            )
        )

    def _sync_buttons(self) -> None:
        self.previous.disabled = self.page <= 1
        self.next.disabled = self.page >= self.pages

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        self.page = min(max(self.page + step, 1), self.pages)
        self._sync_buttons()
        await interaction.response.edit_message(embed=self.embed(), view=self)

    @discord.ui.button(
        label="Previous", style=discord.ButtonStyle.secondary, custom_id="sources:prev"
    )
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary, custom_id="sources:next")
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._turn(interaction, +1)


class Sources(commands.Cog):
    """Browsing the sources."""

    def __init__(self, bot: Quotebot) -> None:
        self.bot = bot

    @app_commands.command(name="sources")
    async def sources(self, interaction: discord.Interaction) -> None:
        """List the articles I can quote."""
        view = SourcePages(self.bot, interaction.user.id)
        if view.pages == 1:
            await interaction.response.send_message(embed=view.embed(), allowed_mentions=NO_PINGS)
            return
        await interaction.response.send_message(
            embed=view.embed(), view=view, allowed_mentions=NO_PINGS
        )
        view.message = await interaction.original_response()

    @app_commands.command(name="source")
    @app_commands.describe(id="The source's id (start typing its title)")
    async def source(self, interaction: discord.Interaction, id: str) -> None:
        """Show one source's details and how it begins."""
        source = self.bot.retriever.source(id)
        await interaction.response.send_message(
            embed=to_embed(render_source(source)), allowed_mentions=NO_PINGS
        )

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
        await interaction.response.send_message(embed=to_embed(view), allowed_mentions=NO_PINGS)

    @source.autocomplete("id")
    @passage.autocomplete("source")
    async def source_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return source_choices(self.bot, current)


async def setup(bot: Quotebot) -> None:
    await bot.add_cog(Sources(bot))
