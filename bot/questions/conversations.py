"""Which conversation a question belongs to, for follow-ups: a reply to one of the bot's answers,
a thread, or a DM. The turns themselves live in the database (`bot/storage/conversations.py`).

A turn is stored before its answer appears wherever the key is known beforehand (the thread or
DM; the question an answer replies to), so even an instant next message follows it up. Only an
answer's own id is known after it is posted.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import discord

from index.search.followups import Context

if TYPE_CHECKING:
    from bot.bot import Quotebot

log = logging.getLogger(__name__)

# In a thread or a DM every message continues the same conversation; in a channel only a reply
# does (people talk past each other there).
_CONVERSATION_CHANNELS = frozenset(
    {
        discord.ChannelType.private,
        discord.ChannelType.public_thread,
        discord.ChannelType.private_thread,
        discord.ChannelType.news_thread,
    }
)


def _answer_key(message_id: int) -> str:
    return f"answer:{message_id}"


def _question_key(message_id: int) -> str:
    return f"question:{message_id}"


def _channel_key(channel: object) -> str | None:
    # By type, not class: a thread the cache has not seen arrives as a PartialMessageable.
    if getattr(channel, "type", None) in _CONVERSATION_CHANNELS:
        return f"channel:{getattr(channel, 'id')}"  # noqa: B009 - any channel-like object
    return None


def keys_of_question(message: discord.Message, me: int) -> list[str]:
    """Where to look for the turn a message follows, most specific first."""
    keys = []
    reference = message.reference
    if reference is not None and reference.message_id is not None:
        keys.append(_answer_key(reference.message_id))
        answer = reference.resolved
        # A reply to one of our answers that itself replied to a question: that question's turn.
        if (
            isinstance(answer, discord.Message)
            and answer.author.id == me
            and answer.reference is not None
            and answer.reference.message_id is not None
        ):
            keys.append(_question_key(answer.reference.message_id))
    return keys + keys_of_question_in(message.channel)


def keys_of_question_in(channel: object) -> list[str]:
    """For a question with no message of its own (a slash command): its thread or DM."""
    key = _channel_key(channel)
    return [key] if key is not None else []


async def previous_turn(bot: Quotebot, keys: list[str]) -> Context | None:
    """The latest recent turn under the first of `keys` that has one."""
    for key in keys:
        turn = await bot.database.conversations.recall(key)
        if turn is not None:
            return turn
    return None


async def post_answer(
    bot: Quotebot,
    turn: Context,
    send: Callable[[], Awaitable[discord.abc.Snowflake | None]],
    *,
    channel: object,
    question: discord.abc.Snowflake | None = None,
) -> discord.abc.Snowflake | None:
    """Post an answer (`send`, in `channel`, replying to `question` if given) so that the
    conversation continues from it."""
    before = [key for key in (_channel_key(channel),) if key is not None]
    if question is not None:
        before.append(_question_key(question.id))
    await bot.database.conversations.remember(before, turn)
    sent = await send()
    if sent is not None:
        await bot.database.conversations.remember([_answer_key(sent.id)], turn)
    return sent
