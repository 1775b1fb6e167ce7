"""Previous/Next over the list of sources (`/sources`), persistent like the answer buttons.

Nothing is kept in memory: each button's `custom_id` carries the page the message shows, and a
click redraws the list as it is now from the retriever. Whichever process receives the click
handles it, before or after any restart (discord.py's `DynamicItem`, registered at start). The
buttons do not expire: a page of the current source list is never stale.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from bot.rendering.browsing import render_sources_page
from bot.rendering.text import page_count
from bot.ui.embeds import to_embed

if TYPE_CHECKING:
    from bot.bot import Quotebot

STEPS = {"previous": -1, "next": +1}


def source_page(bot: Quotebot, page: int) -> tuple[discord.Embed, discord.ui.View | None]:
    """Page `page` of the source list (kept within the pages there are now), and its buttons;
    no buttons when the list fits on one page."""
    sources = bot.retriever.sources
    per_page = bot.settings.bot.sources_per_page
    pages = page_count(len(sources), per_page)
    page = min(max(page, 1), pages)
    embed = to_embed(render_sources_page(sources, bot.retriever.built_at, page, per_page))
    if pages == 1:
        return embed, None
    view = discord.ui.View(timeout=None)
    view.add_item(SourcePageButton("previous", page, disabled=page <= 1))
    view.add_item(SourcePageButton("next", page, disabled=page >= pages))
    return embed, view


class SourcePageButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"sources:(?P<action>previous|next):(?P<page>[0-9]{1,9})",
):
    """Previous or Next under a page of the source list; the page shown is in its custom_id."""

    def __init__(self, action: str, page: int, *, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label=action.capitalize(),
                style=discord.ButtonStyle.secondary,
                disabled=disabled,
                custom_id=f"sources:{action}:{page}",
            )
        )
        self.action = action
        self.page = page

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> SourcePageButton:
        return cls(match["action"], int(match["page"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot: Quotebot = interaction.client
        embed, view = source_page(bot, self.page + STEPS[self.action])
        await interaction.response.edit_message(embed=embed, view=view)
