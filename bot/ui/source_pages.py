"""Previous/Next over the list of sources (`/sources`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.rendering.browsing import render_sources_page
from bot.rendering.text import page_count
from bot.ui.embeds import to_embed
from bot.ui.expiry import ExpiringView

if TYPE_CHECKING:
    from bot.bot import Quotebot

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
