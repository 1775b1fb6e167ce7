"""A fake Discord server (REST API v10 + gateway + interactions) on 127.0.0.1.

A development package, not shipped with the bot: tests/ and bench/ run the real bot against it.

The real, unmodified discord.py 2.x client connects to it over the wire::

    from fakecord import FakeDiscord, running_bot

    async with FakeDiscord() as fake:            # also points discord.py at the fake
        bot = build_bot()                         # any discord.Client / commands.Bot
        async with running_bot(bot, fake.token):  # start, wait for READY, close on exit
            sent = await fake.invoke_slash("echo", {"text": "hi"})
            reply = await fake.wait_for_interaction_reply(sent, timeout=5)

Main pieces: :class:`FakeDiscord` (server, world, test helpers, records, faults),
:func:`running_bot`, :func:`point_discord_at`, the payload builders in
:mod:`fakecord.builders`, and the record types in :mod:`fakecord.records`.

The fake speaks Discord's published API: :mod:`fakecord.spec_check` checks every request the
bot sends (body, ``payload_json``, query) and every reply and gateway object the fake sends
against Discord's OpenAPI spec. A request the spec rejects gets Discord's ``400 Invalid Form
Body``; leaving ``FakeDiscord`` with any violation fails the test, naming the operation, the
JSON path and the payload. Tests that send broken payloads on purpose take them with
:meth:`FakeDiscord.take_spec_violations`.
"""

from __future__ import annotations

from .builders import (
    make_dm_channel,
    make_guild,
    make_member,
    make_role,
    make_text_channel,
    make_user,
    snowflake,
)
from .flags import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_MEMBER_PERMISSIONS,
    PRIVILEGED_INTENTS,
    Intent,
    Permission,
)
from .records import (
    CommandNotSyncedError,
    FakeDiscordError,
    FakeDiscordTimeoutError,
    Fault,
    GatewayFrame,
    InteractionRecord,
    RecordedFile,
    RecordedRequest,
)
from .running import point_discord_at, running_bot
from .server import FakeDiscord
from .spec_check import Violation
from .wire import ApiError
from .world import World

__all__ = [
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_MEMBER_PERMISSIONS",
    "PRIVILEGED_INTENTS",
    "ApiError",
    "CommandNotSyncedError",
    "FakeDiscord",
    "FakeDiscordError",
    "FakeDiscordTimeoutError",
    "Fault",
    "GatewayFrame",
    "Intent",
    "InteractionRecord",
    "Permission",
    "RecordedFile",
    "RecordedRequest",
    "Violation",
    "World",
    "make_dm_channel",
    "make_guild",
    "make_member",
    "make_role",
    "make_text_channel",
    "make_user",
    "point_discord_at",
    "running_bot",
    "snowflake",
]
