"""Turning what someone sent (a Discord message, a console line) into the question the bot asks
the retriever."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import BotSettings
    from index.retriever import Retriever

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


def shorten_and_clean(
    question: str, settings: BotSettings, retriever: Retriever, source: str | None = None
) -> tuple[str, str]:
    """(the question as kept, its cleaned text): kept is what is recorded and echoed under the
    answer, cut to `max_question_chars`; the cleaned text is what is searched. Domain errors
    (empty, unknown source) are raised here, before anything is spent."""
    asked = question[: settings.max_question_chars]
    return asked, retriever.clean(asked, source)
