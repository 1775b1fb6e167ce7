"""Questions in messages: a mention, a mention in reply to another message, any DM, and every
message in a server's answer-channels."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord.ext import commands

from bot.bot import Quotebot
from bot.questions import conversations, pipeline
from bot.questions.extract import mentions_user, question_from_message
from bot.storage.database import GuildConfig
from index.errors import QuotebotError

log = logging.getLogger(__name__)

# Generic on purpose: the bot may know any sources, so the example names none of them.
HOW_TO_ASK = (
    "Ask me something about the article after the mention, e.g. "
    "`@Quotebot who said that?` or `@Quotebot what happened next?`, "
    "or mention me in a reply to a message. `/sources` lists what I know."
)


class Mentions(commands.Cog):
    """Answers messages addressed to the bot, as replies to them (or in a thread)."""

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

    async def _question_for(self, message: discord.Message) -> tuple[str | None, bool]:
        """(the question, asked in an answer-channel); None when the message is not for us."""
        assert self.bot.user is not None
        me = self.bot.user.id
        if message.guild is None:
            return question_from_message(message.content, me), False
        if mentions_user(message.content, me):
            return question_from_message(message.content, me), False
        if self.bot.database.is_answer_channel(message.guild.id, message.channel.id):
            return question_from_message(message.content, me) or None, True
        return None, False

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or self.bot.user is None or message.author.id == self.bot.user.id:
            return  # never answer ourselves or other bots
        question, in_answer_channel = await self._question_for(message)
        if question is None:
            return
        if not question:
            question = question_from_message(await self._referenced_text(message), self.bot.user.id)
            if not question:
                await self._reply(message, content=HOW_TO_ASK)
                return
        asker = pipeline.Asker(
            message.author.id, message.guild.id if message.guild else None, message.channel.id
        )
        try:
            admitted = await pipeline.admit(self.bot, question, asker)
            in_thread = self._answers_in_thread(message, in_answer_channel, admitted.config)
            context = await conversations.previous_turn(
                self.bot, conversations.lookup_keys(message, self.bot.user.id)
            )
            async with message.channel.typing():
                answered = await pipeline.answer(
                    self.bot,
                    admitted,
                    context=context,
                    turn_keys=conversations.turn_keys(message, opens_thread=in_thread),
                )
        except QuotebotError as exc:
            await self._reply(message, content=str(exc))
            return
        if in_thread:
            await self._answer_in_thread(message, question, answered)
            return
        await self._reply(message, embed=answered.embed, view=answered.view)

    @staticmethod
    def _answers_in_thread(
        message: discord.Message, in_answer_channel: bool, config: GuildConfig
    ) -> bool:
        """Whether this server wants answer-channel questions answered in a new thread."""
        if not in_answer_channel or message.guild is None:
            return False
        return isinstance(message.channel, discord.TextChannel) and config.threads

    async def _answer_in_thread(
        self, message: discord.Message, question: str, answered: pipeline.Answered
    ) -> None:
        try:
            thread = await message.create_thread(name=question[:90] or "Answer")
            await thread.send(embed=answered.embed, view=answered.view)
        except discord.HTTPException as exc:
            log.warning("could not answer in a thread in channel %s: %s", message.channel.id, exc)
            await self._reply(message, embed=answered.embed, view=answered.view)

    async def _reply(
        self,
        message: discord.Message,
        content: str | None = None,
        embed: discord.Embed | None = None,
        view: discord.ui.View | None = None,
    ) -> discord.Message | None:
        kwargs: dict[str, Any] = {"content": content, "embed": embed, "mention_author": False}
        if view is not None:
            kwargs["view"] = view
        try:
            return await message.reply(**kwargs)
        except discord.HTTPException as exc:
            log.warning(
                "could not answer message %s in channel %s (question %r): %s",
                message.id,
                message.channel.id,
                message.content[:300],
                exc,
            )
            return None


async def setup(bot: Quotebot) -> None:
    await bot.add_cog(Mentions(bot))
