"""Turning a Discord message into the question it asks."""

from __future__ import annotations

import re

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_OTHER_MENTION = re.compile(r"<(?:@&|#)\d+>|@everyone|@here")
_CUSTOM_EMOJI = re.compile(r"<a?:(\w+):\d+>")
_TIMESTAMP = re.compile(r"<t:\d+(?::\w)?>")


def question_from_message(content: str, bot_id: int | None = None) -> str:
    """The words of a message, without the bot's mention and without pings of any kind.

    Other user, role and channel mentions are dropped (their ids mean nothing to the article),
    custom emoji become their names.
    """
    if bot_id is not None:
        content = re.sub(rf"<@!?{bot_id}>", " ", content)
    content = _USER_MENTION.sub(" ", content)
    content = _OTHER_MENTION.sub(" ", content)
    content = _CUSTOM_EMOJI.sub(r"\1", content)
    content = _TIMESTAMP.sub(" ", content)
    return " ".join(content.split())


def mentions_user(content: str, user_id: int) -> bool:
    """True when the text itself mentions the user (not a reply's implicit mention)."""
    return any(int(m) == user_id for m in _USER_MENTION.findall(content))
