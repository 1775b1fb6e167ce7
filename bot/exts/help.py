"""`/help`: what the bot does and how to ask."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import NO_PINGS, Quotebot
from bot.rendering.answers import render_help, to_embed


class Help(commands.Cog):
    """The help command."""

    def __init__(self, bot: Quotebot) -> None:
        self.bot = bot

    @app_commands.command(name="help")
    async def help(self, interaction: discord.Interaction) -> None:
        """What Quotebot does and how to ask it."""
        await interaction.response.send_message(
            embed=to_embed(render_help()), ephemeral=True, allowed_mentions=NO_PINGS
        )


async def setup(bot: Quotebot) -> None:
    await bot.add_cog(Help(bot))
