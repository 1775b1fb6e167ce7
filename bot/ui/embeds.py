"""The adapter from rendering's plain cards to Discord: a `Card` becomes a `discord.Embed`."""

from __future__ import annotations

import discord

from bot.rendering.text import FIELD_COUNT_LIMIT, FOOTER_LIMIT, Card


def to_embed(card: Card) -> discord.Embed:
    """The card as a Discord embed."""
    embed = discord.Embed(
        title=card.title, url=card.url, description=card.description, colour=card.colour
    )
    for name, value in card.fields[:FIELD_COUNT_LIMIT]:
        embed.add_field(name=name, value=value or "\u200b", inline=False)
    if card.footer:
        embed.set_footer(text=card.footer[:FOOTER_LIMIT])
    return embed
