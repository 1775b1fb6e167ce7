"""Builders for realistic Discord API payloads (users, members, roles, channels, guilds).

Every builder returns a plain ``dict`` shaped like the JSON Discord's API v10 sends, with
snowflake ids as strings, so the dicts can be fed to the fake server's world model or sent
over the wire as they are. Ids are generated with :func:`snowflake`, which encodes the current
time the way Discord does (so ``discord.Object(id).created_at`` is sensible and
``(guild_id >> 22) % num_shards`` shard routing works).
"""

from __future__ import annotations

import datetime
import itertools
import secrets
import struct
from collections.abc import Iterable, Mapping
from typing import Any

from .flags import DEFAULT_MEMBER_PERMISSIONS, ChannelType

DISCORD_EPOCH_MS = 1_420_070_400_000
_increment = itertools.count()

#: Upload limit Discord reports for an un-boosted guild (``attachment_size_limit``).
DEFAULT_ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


def snowflake(when: datetime.datetime | None = None) -> int:
    """Return a new, unique Discord snowflake encoding ``when`` (default: now)."""
    moment = when or datetime.datetime.now(datetime.UTC)
    ms = int(moment.timestamp() * 1000) - DISCORD_EPOCH_MS
    return (ms << 22) | (1 << 17) | (next(_increment) & 0xFFF)


def iso_timestamp(when: datetime.datetime | None = None) -> str:
    """Return an ISO-8601 timestamp like Discord's (``2024-01-01T00:00:00.000000+00:00``)."""
    return (when or datetime.datetime.now(datetime.UTC)).isoformat(timespec="microseconds")


def new_token(prefix: str = "") -> str:
    """Return a random opaque token (interaction tokens, session ids...)."""
    return prefix + secrets.token_urlsafe(24)


def make_user(
    *,
    user_id: int | None = None,
    username: str = "alice",
    global_name: str | None = None,
    bot: bool = False,
    avatar: str | None = None,
    flags: int = 0,
) -> dict[str, Any]:
    """Build a user object (new username system: ``discriminator`` is ``"0"``)."""
    user: dict[str, Any] = {
        "id": str(user_id if user_id is not None else snowflake()),
        "username": username,
        "global_name": global_name
        if global_name is not None
        else (None if bot else username.title()),
        "discriminator": "0",
        "avatar": avatar if avatar is not None else secrets.token_hex(16),
        "avatar_decoration_data": None,
        "banner": None,
        "accent_color": None,
        "public_flags": flags,
        "flags": flags,
        "primary_guild": None,
        "collectibles": None,
        "clan": None,
    }
    if bot:
        user["bot"] = True
    return user


def make_bot_user(*, user_id: int | None = None, username: str = "quotebot") -> dict[str, Any]:
    """Build the bot's own user object as ``GET /users/@me`` returns it."""
    user = make_user(user_id=user_id, username=username, bot=True)
    user.update({"verified": True, "mfa_enabled": False, "email": None, "locale": "en-US"})
    return user


def make_role(
    *,
    guild_id: int | str,
    role_id: int | str | None = None,
    name: str = "member",
    permissions: int = int(DEFAULT_MEMBER_PERMISSIONS),
    position: int = 1,
    color: int = 0,
    managed: bool = False,
    tags: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Build a role object; use ``role_id=guild_id`` and ``name="@everyone"`` for the base role."""
    role: dict[str, Any] = {
        "id": str(role_id if role_id is not None else snowflake()),
        "name": name,
        "description": None,
        "permissions": str(int(permissions)),
        "position": position,
        "color": color,
        "colors": {"primary_color": color, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "managed": managed,
        "mentionable": False,
        "flags": 0,
    }
    if tags is not None:
        role["tags"] = dict(tags)
    return role


def make_everyone_role(
    guild_id: int | str, permissions: int = int(DEFAULT_MEMBER_PERMISSIONS)
) -> dict:
    """Build the ``@everyone`` role of a guild (its id is the guild id)."""
    return make_role(
        guild_id=guild_id, role_id=guild_id, name="@everyone", permissions=permissions, position=0
    )


def make_member(
    user: Mapping[str, Any],
    *,
    roles: Iterable[int | str] = (),
    nick: str | None = None,
    joined_at: str | None = None,
    permissions: int | None = None,
    include_user: bool = True,
) -> dict[str, Any]:
    """Build a guild member object (with ``flags``, ``joined_at``...) for ``user``.

    ``permissions`` (the resolved channel permissions, a string on the wire) is only present in
    interaction payloads; pass it for those.
    """
    member: dict[str, Any] = {
        "roles": [str(r) for r in roles],
        "nick": nick,
        "avatar": None,
        "banner": None,
        "joined_at": joined_at or iso_timestamp(),
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
        "communication_disabled_until": None,
        "unusual_dm_activity_until": None,
    }
    if include_user:
        member["user"] = dict(user)
    if permissions is not None:
        member["permissions"] = str(int(permissions))
    return member


def make_text_channel(
    *,
    guild_id: int | str,
    channel_id: int | str | None = None,
    name: str = "general",
    position: int = 0,
    topic: str | None = None,
    parent_id: int | str | None = None,
    permission_overwrites: Iterable[Mapping[str, Any]] = (),
    nsfw: bool = False,
) -> dict[str, Any]:
    """Build a guild text channel object."""
    return {
        "id": str(channel_id if channel_id is not None else snowflake()),
        "type": int(ChannelType.GUILD_TEXT),
        "guild_id": str(guild_id),
        "name": name,
        "position": position,
        "topic": topic,
        "nsfw": nsfw,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "parent_id": str(parent_id) if parent_id is not None else None,
        "permission_overwrites": [dict(o) for o in permission_overwrites],
        "flags": 0,
        "default_thread_rate_limit_per_user": 0,
        "default_auto_archive_duration": 4320,
    }


def make_thread(
    *,
    guild_id: int | str,
    parent_id: int | str,
    owner_id: int | str,
    name: str,
    thread_id: int | str | None = None,
    auto_archive_duration: int = 1440,
    private: bool = False,
) -> dict[str, Any]:
    """Build a thread channel object as ``POST .../threads`` returns it."""
    return {
        "id": str(thread_id if thread_id is not None else snowflake()),
        "type": int(ChannelType.PRIVATE_THREAD if private else ChannelType.PUBLIC_THREAD),
        "guild_id": str(guild_id),
        "parent_id": str(parent_id),
        "owner_id": str(owner_id),
        "name": name,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "total_message_sent": 0,
        "flags": 0,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": auto_archive_duration,
            "archive_timestamp": iso_timestamp(),
            "locked": False,
            "invitable": True,
            "create_timestamp": iso_timestamp(),
        },
        "member": {
            "id": str(thread_id) if thread_id is not None else None,
            "user_id": str(owner_id),
            "join_timestamp": iso_timestamp(),
            "flags": 1,
        },
    }


def make_dm_channel(recipient: Mapping[str, Any], *, channel_id: int | str | None = None) -> dict:
    """Build a DM channel object with ``recipient`` (as ``POST /users/@me/channels`` returns)."""
    return {
        "id": str(channel_id if channel_id is not None else snowflake()),
        "type": int(ChannelType.DM),
        "last_message_id": None,
        "flags": 0,
        "recipients": [dict(recipient)],
    }


def make_guild(
    *,
    guild_id: int | str | None = None,
    name: str = "Test Guild",
    owner_id: int | str,
    roles: Iterable[Mapping[str, Any]] = (),
    channels: Iterable[Mapping[str, Any]] = (),
    members: Iterable[Mapping[str, Any]] = (),
    everyone_permissions: int = int(DEFAULT_MEMBER_PERMISSIONS),
) -> dict[str, Any]:
    """Build a full GUILD_CREATE payload.

    An ``@everyone`` role is added when ``roles`` has none. ``channels`` get their
    ``guild_id`` set. The result is what the fake sends after READY (``members`` is filtered
    by the fake according to the GUILD_MEMBERS intent).
    """
    gid = str(guild_id if guild_id is not None else snowflake())
    role_list = [dict(r) for r in roles]
    if not any(r["id"] == gid for r in role_list):
        role_list.insert(0, make_everyone_role(gid, everyone_permissions))
    channel_list = []
    for channel in channels:
        ch = dict(channel)
        ch["guild_id"] = gid
        channel_list.append(ch)
    member_list = [dict(m) for m in members]
    return {
        "id": gid,
        "name": name,
        "icon": None,
        "icon_hash": None,
        "splash": None,
        "discovery_splash": None,
        "owner_id": str(owner_id),
        "region": "deprecated",
        "afk_channel_id": None,
        "afk_timeout": 300,
        "widget_enabled": False,
        "widget_channel_id": None,
        "verification_level": 1,
        "default_message_notifications": 1,
        "explicit_content_filter": 2,
        "roles": role_list,
        "emojis": [],
        "stickers": [],
        "features": [],
        "mfa_level": 0,
        "application_id": None,
        "system_channel_id": channel_list[0]["id"] if channel_list else None,
        "system_channel_flags": 0,
        "rules_channel_id": None,
        "max_presences": None,
        "max_members": 500000,
        "vanity_url_code": None,
        "description": None,
        "home_header": None,
        "banner": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "public_updates_channel_id": None,
        "max_video_channel_users": 25,
        "max_stage_video_channel_users": 50,
        "nsfw": False,
        "nsfw_level": 0,
        "premium_progress_bar_enabled": False,
        "safety_alerts_channel_id": None,
        "incidents_data": None,
        # GUILD_CREATE-only fields:
        "joined_at": iso_timestamp(),
        "large": False,
        "unavailable": False,
        "member_count": len(member_list),
        "voice_states": [],
        "members": member_list,
        "channels": channel_list,
        "threads": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "lazy": True,
    }


def image_size(data: bytes) -> tuple[int, int] | None:
    """Return ``(width, height)`` of PNG/GIF/JPEG bytes, or ``None`` if not an image we know."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            length = int.from_bytes(data[i + 2 : i + 4], "big")
            if 0xC0 <= marker <= 0xC3:
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + length
    return None
