"""Server admin commands (Manage Server): answer-channels, server settings, /reload, /stats.

`default_permissions` hides them from members in the client, and every command checks the
member's permissions from the interaction payload itself, so a member who invokes one anyway
is refused by the bot.

A command that uses the database acknowledges first (privately, "thinking"), then waits for it
within `bot.storage.failures.ADMIN_WAIT_SECONDS`: a hanging database cannot make Discord drop the
command (3 s to acknowledge), and a change it did not take is reported as not saved.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable
from typing import TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from bot.bot import Quotebot
from bot.rendering.chart import stats_chart
from bot.rendering.stats import render_stats
from bot.storage import GuildConfig
from bot.storage.failures import bounded
from bot.ui.embeds import to_embed

log = logging.getLogger(__name__)

ADMIN = discord.Permissions(manage_guild=True)
is_admin = app_commands.checks.has_permissions(manage_guild=True)

T = TypeVar("T")
NOT_SAVED = "The change was NOT saved"


async def waited(interaction: discord.Interaction, work: Awaitable[T], not_done: str) -> T:
    """`work`'s result, for a command acknowledged already; DatabaseWorkError (told to the admin
    by the command error handler) says what was not done when it fails or takes too long."""
    command = interaction.command.qualified_name if interaction.command else "?"
    return await bounded(
        work, not_done=not_done, what=f"/{command} in server {interaction.guild_id}"
    )


def describe_config(config: GuildConfig, bot: Quotebot) -> str:
    defaults = bot.settings
    return "\n".join(
        [
            f"Passages per page (k): **{config.k or defaults.index.k}**"
            + ("" if config.k else " (default)"),
            f"Answers private by default: **{'yes' if config.private_by_default else 'no'}**",
            f"Answer in a new thread (answer-channels): **{'yes' if config.threads else 'no'}**",
            "Cooldown: **{} questions per {:g} s** per member{}".format(
                config.cooldown_questions or defaults.bot.cooldown_questions,
                config.cooldown_seconds or defaults.bot.cooldown_seconds,
                "" if config.cooldown_questions or config.cooldown_seconds else " (default)",
            ),
        ]
    )


class Admin(commands.Cog):
    """Per-server configuration and operations."""

    quotebot = app_commands.Group(
        name="quotebot",
        description="Configure Quotebot for this server",
        guild_only=True,
        default_permissions=ADMIN,
    )
    channel = app_commands.Group(
        name="channel", description="Channels where every message is a question", parent=quotebot
    )

    def __init__(self, bot: Quotebot) -> None:
        self.bot = bot

    async def _reply(self, interaction: discord.Interaction, text: str) -> None:
        await interaction.followup.send(text, ephemeral=True)

    @channel.command(name="add")
    @app_commands.describe(channel="The channel (default: this one)")
    @is_admin
    async def channel_add(
        self, interaction: discord.Interaction, channel: discord.TextChannel | None = None
    ) -> None:
        """Answer every message in a channel as a question."""
        assert interaction.guild_id is not None
        target_id = channel.id if channel else interaction.channel_id
        assert target_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        added = await waited(
            interaction,
            self.bot.database.add_answer_channel(
                interaction.guild_id, target_id, interaction.user.id
            ),
            NOT_SAVED,
        )
        text = f"<#{target_id}> is now an answer-channel: every message there is a question."
        if not added:
            text = f"<#{target_id}> already is an answer-channel."
        if not self.bot.intents.message_content:
            text += (
                "\n⚠️ The bot runs without the Message Content intent, so it cannot read messages "
                "there. Enable the intent in the Developer Portal and set "
                "QUOTEBOT_BOT__MESSAGE_CONTENT_INTENT=true."
            )
        await self._reply(interaction, text)

    @channel.command(name="remove")
    @app_commands.describe(channel="The channel (default: this one)")
    @is_admin
    async def channel_remove(
        self, interaction: discord.Interaction, channel: discord.TextChannel | None = None
    ) -> None:
        """Stop answering every message in a channel."""
        assert interaction.guild_id is not None
        target_id = channel.id if channel else interaction.channel_id
        assert target_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        removed = await waited(
            interaction,
            self.bot.database.remove_answer_channel(interaction.guild_id, target_id),
            NOT_SAVED,
        )
        await self._reply(
            interaction,
            f"<#{target_id}> is no longer an answer-channel."
            if removed
            else f"<#{target_id}> was not an answer-channel.",
        )

    @channel.command(name="list")
    @is_admin
    async def channel_list(self, interaction: discord.Interaction) -> None:
        """List this server's answer-channels."""
        assert interaction.guild_id is not None
        # Read afresh: another bot process sharing the database may have changed them.
        await interaction.response.defer(ephemeral=True, thinking=True)
        channels = await waited(
            interaction,
            self.bot.database.read_answer_channels(interaction.guild_id),
            "The answer-channels could not be read",
        )
        text = (
            "Answer-channels: " + ", ".join(f"<#{c}>" for c in channels)
            if channels
            else "No answer-channels: mentions and `/ask` work everywhere."
        )
        await self._reply(interaction, text)

    @quotebot.command(name="settings")
    @app_commands.describe(
        k="Passages per page of an answer",
        private="Answers visible only to the asker unless they choose otherwise",
        threads="In answer-channels, answer each question in a new thread",
        cooldown_questions="Questions a member may ask per cooldown window",
        cooldown_seconds="Length of the cooldown window in seconds",
    )
    @is_admin
    async def settings(
        self,
        interaction: discord.Interaction,
        k: app_commands.Range[int, 1, 10] | None = None,
        private: bool | None = None,
        threads: bool | None = None,
        cooldown_questions: app_commands.Range[int, 1, 100] | None = None,
        cooldown_seconds: app_commands.Range[int, 1, 3600] | None = None,
    ) -> None:
        """Show or change Quotebot's settings for this server."""
        assert interaction.guild_id is not None
        changes = {
            key: value
            for key, value in {
                "k": k,
                "private_by_default": private,
                "threads": threads,
                "cooldown_questions": cooldown_questions,
                "cooldown_seconds": float(cooldown_seconds) if cooldown_seconds else None,
            }.items()
            if value is not None
        }
        await interaction.response.defer(ephemeral=True, thinking=True)
        if changes:
            config = await waited(
                interaction,
                self.bot.database.update_guild_config(interaction.guild_id, **changes),
                NOT_SAVED,
            )
            head = "Settings updated."
        else:
            config = await waited(
                interaction,
                self.bot.database.guild_config(interaction.guild_id),
                "The settings could not be read",
            )
            head = "Current settings."
        await self._reply(interaction, f"{head}\n{describe_config(config, self.bot)}")

    @app_commands.command(name="reload")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @is_admin
    async def reload(self, interaction: discord.Interaction) -> None:
        """Re-read the sources folder and rebuild what changed, without a restart."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        # Its own thread: questions keep being answered on the old index while this builds.
        report = await asyncio.to_thread(self.bot.retriever.reload)
        log.info("reload by %s: %s", interaction.user.id, report.summary)
        await interaction.followup.send(f"Sources reloaded: {report.summary}.", ephemeral=True)

    @app_commands.command(name="stats")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    @is_admin
    async def stats(self, interaction: discord.Interaction) -> None:
        """Questions, answers, abstentions and votes in this server over the last 7 days."""
        assert interaction.guild is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        summary = await waited(
            interaction,
            self.bot.database.stats(interaction.guild.id, days=7),
            "The stats could not be read",
        )
        chart = await asyncio.to_thread(stats_chart, summary)
        embed = to_embed(render_stats(summary, interaction.guild.name))
        embed.set_image(url="attachment://stats.png")
        await interaction.followup.send(
            embed=embed,
            file=discord.File(io.BytesIO(chart), filename="stats.png"),
            ephemeral=True,
        )


async def setup(bot: Quotebot) -> None:
    await bot.add_cog(Admin(bot))
