"""`/help`: what the bot does and how to ask."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import Quotebot
from bot.rendering.browsing import render_help
from bot.ui.embeds import to_embed


class Help(commands.Cog):
    """The help command."""

    def __init__(self, bot: Quotebot) -> None:
        self.bot = bot

    @app_commands.command(name="help")
    async def help(self, interaction: discord.Interaction) -> None:
        """What Quotebot does and how to ask it."""
        await interaction.response.send_message(embed=to_embed(render_help()), ephemeral=True)


async def setup(bot: Quotebot) -> None:
    await bot.add_cog(Help(bot))
