"""Which conversation a question belongs to, for follow-ups: a reply to one of the bot's answers,
a thread, or a DM. The turns themselves live in the database (`bot/storage/conversations.py`).

Every key of a turn is known before its answer is posted, so the turn is stored in the same
transaction as the answer and even an instant reply follows it up: an answer to a message
replies to it (`question:<message id>`), an answer to a slash command carries the interaction's
id (`interaction:<id>`), a thread or DM is its channel, and a thread started from a question has
the question's id (Discord gives it the id of the message it starts from).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from sqlalchemy.exc import SQLAlchemyError

from bot.storage.failures import failure
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


def _question_key(message_id: int) -> str:
    return f"question:{message_id}"


def _interaction_key(interaction_id: int) -> str:
    return f"interaction:{interaction_id}"


def _channel_key(channel_id: int) -> str:
    return f"channel:{channel_id}"


def _conversation_channel(channel: object) -> list[str]:
    # By type, not class: a thread the cache has not seen arrives as a PartialMessageable.
    if getattr(channel, "type", None) in _CONVERSATION_CHANNELS:
        return [_channel_key(getattr(channel, "id"))]  # noqa: B009 - any channel-like object
    return []


def _keys_of_answer(answer: discord.Message, me: int) -> list[str]:
    """The keys a turn was stored under, read off the bot's answer a user replied to."""
    if answer.author.id != me:
        return []
    if answer.reference is not None and answer.reference.message_id is not None:
        return [_question_key(answer.reference.message_id)]
    if answer.interaction_metadata is not None:
        return [_interaction_key(answer.interaction_metadata.id)]
    return []


def lookup_keys(message: discord.Message, me: int) -> list[str]:
    """Where to look for the turn a message follows, most specific first: the answer it replies
    to, then its thread or DM."""
    keys = []
    reference = message.reference
    if reference is not None and isinstance(reference.resolved, discord.Message):
        keys += _keys_of_answer(reference.resolved, me)
    return keys + _conversation_channel(message.channel)


def lookup_keys_of_command(interaction: discord.Interaction) -> list[str]:
    """A slash command has no message to reply to: only its thread or DM."""
    return _conversation_channel(interaction.channel)


def turn_keys(message: discord.Message, *, opens_thread: bool = False) -> list[str]:
    """The conversations the answer to `message` continues."""
    keys = [_question_key(message.id), *_conversation_channel(message.channel)]
    return keys + ([_channel_key(message.id)] if opens_thread else [])


def turn_keys_of_command(interaction: discord.Interaction) -> list[str]:
    return [_interaction_key(interaction.id), *_conversation_channel(interaction.channel)]


async def previous_turn(bot: Quotebot, keys: list[str]) -> Context | None:
    """The latest recent turn under the first of `keys` that has one; None when the turns
    cannot be read (the question is still answered, as a new one)."""
    for key in keys:
        try:
            turn = await bot.database.conversations.recall(key)
        except (SQLAlchemyError, OSError) as exc:
            log.warning(
                "could not read conversation %s (%s); answering its question as a new one: "
                "check the database (the bot checks it at start)",
                key,
                failure(exc),
            )
            return None
        if turn is not None:
            return turn
    return None
