"""Questions in messages: a mention, a mention in reply to another message, or any DM."""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from bot.bot import NO_PINGS, Quotebot
from bot.exts.ask import answer_embed, check_cooldown
from bot.questions import mentions_user, question_from_message
from index.errors import QuotebotError

log = logging.getLogger(__name__)

HOW_TO_ASK = (
    "Ask me something about the article after the mention, e.g. "
    "`@Quotebot why does Russia need China?`, or mention me in a reply to a message."
)


class Mentions(commands.Cog):
    """Answers messages addressed to the bot, as replies to them."""

    def __init__(self, bot: Quotebot) -> None:
        self.bot = bot

    async def _referenced_text(self, message: discord.Message) -> str:
        reference = message.reference
        if reference is None or reference.message_id is None:
            return ""
        target = reference.resolved
        if not isinstance(target, discord.Message):
            try:
                target = await message.channel.fetch_message(reference.message_id)
            except discord.HTTPException:
                return ""
        return target.content

    def _question_for(self, message: discord.Message) -> str | None:
        """The question a message asks the bot, "" when addressed without one, None otherwise."""
        assert self.bot.user is not None
        me = self.bot.user.id
        if message.guild is None:
            return question_from_message(message.content, me)
        if not mentions_user(message.content, me):
            return None
        return question_from_message(message.content, me)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or self.bot.user is None or message.author.id == self.bot.user.id:
            return  # never answer ourselves or other bots
        question = self._question_for(message)
        if question is None:
            return
        if not question:
            question = question_from_message(await self._referenced_text(message), self.bot.user.id)
            if not question:
                await self._reply(message, content=HOW_TO_ASK)
                return
        try:
            question = question[: self.bot.settings.bot.max_question_chars]
            check_cooldown(self.bot, message.author.id)
            async with message.channel.typing():
                embed = await answer_embed(self.bot, question)
        except QuotebotError as exc:
            await self._reply(message, content=str(exc))
            return
        await self._reply(message, embed=embed)

    async def _reply(
        self,
        message: discord.Message,
        content: str | None = None,
        embed: discord.Embed | None = None,
    ) -> None:
        try:
            await message.reply(
                content=content, embed=embed, allowed_mentions=NO_PINGS, mention_author=False
            )
        except discord.HTTPException as exc:
            log.warning(
                "could not answer message %s in channel %s: %s", message.id, message.channel.id, exc
            )


async def setup(bot: Quotebot) -> None:
    await bot.add_cog(Mentions(bot))
