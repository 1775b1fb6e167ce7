"""The `commands.Bot` subclass: receives its settings and retriever, loads one cog per feature."""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

import discord
from discord import app_commands
from discord.ext import commands

from bot.questions.batcher import Answerer
from bot.questions.cooldowns import Cooldowns
from bot.rendering.text import escape
from bot.settings import Settings
from bot.storage import Database
from bot.ui.answer import AnswerButton
from bot.ui.source_pages import SourcePageButton
from index.errors import QuotebotError
from index.retriever import Retriever

log = logging.getLogger(__name__)

EXTENSIONS = (
    "bot.exts.ask",
    "bot.exts.mentions",
    "bot.exts.sources",
    "bot.exts.help",
    "bot.exts.admin",
)
# The client default for every send: discord.py merges it into messages, replies, interaction
# responses, followups and edits alike, so no call passes it again.
NO_PINGS = discord.AllowedMentions.none()
# Discord's codes for an interaction it no longer knows: Unknown Webhook, Unknown interaction.
EXPIRED_INTERACTION = (10015, 10062)


class Quotebot(commands.AutoShardedBot):
    """Quotebot on Discord. Everything it knows comes from `retriever`."""

    def __init__(
        self,
        settings: Settings,
        retriever: Retriever,
        answerer: Answerer | None = None,
        database: Database | None = None,
    ) -> None:
        intents = discord.Intents.default()
        intents.message_content = settings.bot.message_content_intent
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=NO_PINGS,
            help_command=None,
            guild_ready_timeout=settings.bot.guild_ready_timeout,
            heartbeat_timeout=settings.bot.heartbeat_timeout,
            # 0 / empty: Discord recommends the count and this process runs every shard.
            shard_count=settings.bot.shard_count or None,
            shard_ids=settings.bot.shard_ids or None,  # type: ignore[arg-type]  # None is its default
        )
        self.settings = settings
        self.retriever = retriever
        self.answerer = answerer or Answerer(
            retriever,
            max_batch=settings.bot.batch_max_size,
            max_wait=settings.bot.batch_max_wait_ms / 1000,
        )
        self.cooldowns = Cooldowns(settings.bot.cooldown_questions, settings.bot.cooldown_seconds)
        self.channel_cooldowns = Cooldowns(
            settings.bot.channel_cooldown_questions, settings.bot.channel_cooldown_seconds
        )
        self._database = database
        self.tree.error(self.on_app_command_error)

    @property
    def database(self) -> Database:
        if self._database is None:
            raise RuntimeError("the database opens in setup_hook, before any event is handled")
        return self._database

    async def setup_hook(self) -> None:
        if self._database is None:
            self._database = await Database.open(
                self.settings.bot.database_url,
                followup_window=timedelta(seconds=self.settings.bot.followup_seconds),
            )
        # Other processes sharing the database change the answer-channels too; stopped by
        # Database.close, in `close`.
        self._database.keep_answer_channels_fresh(self.settings.bot.answer_channels_refresh_seconds)
        # Answer and source-list buttons are handled from their custom_id by any process, after
        # any restart.
        self.add_dynamic_items(AnswerButton, SourcePageButton)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        guild_id = self.settings.dev_guild_id
        if guild_id:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d commands to dev guild %s", len(synced), guild_id)
        else:
            synced = await self.tree.sync()
            log.info("synced %d commands globally (Discord may take up to an hour)", len(synced))

    async def on_ready(self) -> None:
        log.info("connected as %s to %d guild(s)", self.user, len(self.guilds))

    async def on_message(self, message: discord.Message) -> None:
        # No prefix commands: questions in messages are handled by the mentions cog.
        return

    async def close(self) -> None:
        await self.answerer.close()
        await super().close()
        if self._database is not None:
            await self._database.close()

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Domain errors become their message; anything else a reference to the logged traceback."""
        original = getattr(error, "original", error)
        if isinstance(original, discord.NotFound) and original.code in EXPIRED_INTERACTION:
            # Discord forgot the interaction (3 s to acknowledge, 15 min to follow up): nobody is
            # left to tell, so say it once in the log, with what was asked.
            log.warning(
                "/%s expired before it was answered (%s); asked with %s",
                interaction.command.qualified_name if interaction.command else "?",
                original.text,
                repr({name: value for name, value in interaction.namespace})[:300],
            )
            return
        if isinstance(original, QuotebotError):
            # Messages can quote what the user typed (an unknown source id): never as markdown.
            text = escape(str(original))
        elif isinstance(error, app_commands.CheckFailure):
            text = str(error) or "You can't use this command here."
        else:
            ref = secrets.token_hex(2).upper()
            log.error(
                "command %s failed (ref %s)",
                interaction.command.qualified_name if interaction.command else "?",
                ref,
                exc_info=original,
            )
            text = f"Something went wrong (ref {ref}). The bot's admins can find it in the log."
        await send_ephemeral(interaction, text)


async def send_ephemeral(interaction: discord.Interaction, text: str) -> None:
    """Reply privately whether or not the interaction was already answered or deferred."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)
    except discord.HTTPException as exc:
        log.warning("could not deliver an error message to the user: %s", exc)
