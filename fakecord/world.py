"""The fake server's world model: users, guilds, channels, members, messages and commands.

:class:`World` is pure state plus Discord's rules for shaping and validating payloads
(message limits, mentions, attachments, permissions, command definitions). It does no I/O;
:class:`~fakecord.server.FakeDiscord` wraps it with HTTP and gateway traffic. Ids are
stored as strings, like on the wire; every public method also accepts ints or the dicts
themselves wherever an id is expected.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from . import builders
from .app_commands import AppCommands
from .builders import DEFAULT_ATTACHMENT_SIZE_LIMIT
from .flags import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_MEMBER_PERMISSIONS,
    ChannelType,
    Intent,
    Permission,
)
from .wire import (
    ALL_PERMISSIONS,
    IdLike,
    to_id,
    unknown,
)
from .world_messages import MessageStore


class World(MessageStore, AppCommands):
    """Everything the fake Discord knows. See the module docstring.

    Public attributes (all dicts keyed by string ids): ``users``, ``guilds`` (guild objects
    without ``channels``/``members``), ``channels``, ``members`` (``guild_id -> user_id ->
    member`` without ``user``), ``messages`` (latest state of every message, including
    deleted ones, in creation order), ``message_versions`` (every state of each message),
    ``deleted_messages``, ``attachment_data`` (attachment id -> bytes), ``global_commands``,
    ``guild_commands`` (guild id -> list) and ``sync_log``.
    """

    def __init__(
        self,
        *,
        bot_username: str = "quotebot",
        application_id: int | None = None,
        attachment_size_limit: int = DEFAULT_ATTACHMENT_SIZE_LIMIT,
    ) -> None:
        self.bot_user = builders.make_bot_user(username=bot_username)
        self.application_id = str(application_id or self.bot_user["id"])
        self.attachment_size_limit = attachment_size_limit
        self.http_base = "http://127.0.0.1"
        self.users: dict[str, dict[str, Any]] = {self.bot_user["id"]: self.bot_user}
        self.guilds: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.members: dict[str, dict[str, dict[str, Any]]] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self.message_versions: dict[str, list[dict[str, Any]]] = {}
        self.deleted_messages: set[str] = set()
        self.attachment_data: dict[str, bytes] = {}
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[str, list[dict[str, Any]]] = {}
        self.sync_log: list[tuple[str | None, list[str]]] = []

    @property
    def bot_id(self) -> str:
        """The bot user's id."""
        return str(self.bot_user["id"])

    # ------------------------------------------------------------------ world building

    def add_user(self, username: str, *, global_name: str | None = None, bot: bool = False) -> dict:
        """Create a user (not a member of any guild yet) and return it."""
        user = builders.make_user(username=username, global_name=global_name, bot=bot)
        self.users[user["id"]] = user
        return user

    def add_guild(
        self,
        name: str = "Test Guild",
        *,
        guild_id: int | None = None,
        owner: Mapping[str, Any] | None = None,
        everyone_permissions: int = int(DEFAULT_MEMBER_PERMISSIONS),
        bot_permissions: int = int(DEFAULT_BOT_PERMISSIONS),
    ) -> dict[str, Any]:
        """Create a guild with ``@everyone``, a managed bot role and the bot as a member.

        ``owner`` (default: a new user ``"owner"``) becomes a member and the guild owner.
        Pass ``guild_id`` to control shard routing (``(guild_id >> 22) % num_shards``).
        """
        owner = owner or self.add_user("owner")
        self.users.setdefault(owner["id"], dict(owner))
        guild = builders.make_guild(
            guild_id=guild_id,
            name=name,
            owner_id=owner["id"],
            everyone_permissions=everyone_permissions,
        )
        gid = guild["id"]
        guild.pop("channels")
        guild.pop("members")
        bot_role = builders.make_role(
            guild_id=gid,
            name=self.bot_user["username"],
            permissions=bot_permissions,
            position=1,
            managed=True,
            tags={"bot_id": self.bot_id},
        )
        guild["roles"].append(bot_role)
        self.guilds[gid] = guild
        self.members[gid] = {}
        self.add_member(gid, self.bot_user, roles=[bot_role["id"]])
        self.add_member(gid, owner)
        return guild

    def add_member(
        self,
        guild: IdLike,
        user: Mapping[str, Any],
        *,
        roles: Iterable[IdLike] = (),
        nick: str | None = None,
    ) -> dict[str, Any]:
        """Make ``user`` a member of ``guild``; returns the member object (with ``user``)."""
        gid = self._guild_id(guild)
        self.users.setdefault(str(user["id"]), dict(user))
        member = builders.make_member(
            user, roles=[to_id(r) for r in roles], nick=nick, include_user=False
        )
        self.members[gid][str(user["id"])] = member
        self.guilds[gid]["member_count"] = len(self.members[gid])
        return self.member_payload(gid, user["id"])

    def add_role(
        self, guild: IdLike, name: str, *, permissions: int = 0, position: int = 1
    ) -> dict[str, Any]:
        """Create a role in ``guild`` and return it."""
        gid = self._guild_id(guild)
        role = builders.make_role(
            guild_id=gid, name=name, permissions=permissions, position=position
        )
        self.guilds[gid]["roles"].append(role)
        return role

    def add_text_channel(
        self,
        guild: IdLike,
        name: str = "general",
        *,
        topic: str | None = None,
        permission_overwrites: Iterable[Mapping[str, Any]] = (),
    ) -> dict[str, Any]:
        """Create a text channel in ``guild`` and return it."""
        gid = self._guild_id(guild)
        position = sum(1 for c in self.channels.values() if c.get("guild_id") == gid)
        channel = builders.make_text_channel(
            guild_id=gid,
            name=name,
            topic=topic,
            position=position,
            permission_overwrites=permission_overwrites,
        )
        self.channels[channel["id"]] = channel
        if self.guilds[gid].get("system_channel_id") is None:
            self.guilds[gid]["system_channel_id"] = channel["id"]
        return channel

    def dm_channel(self, user: IdLike) -> dict[str, Any]:
        """Return the DM channel between the bot and ``user`` (created on first use)."""
        uid = to_id(user)
        assert uid is not None
        for channel in self.channels.values():
            if channel["type"] == ChannelType.DM and channel["recipients"][0]["id"] == uid:
                return channel
        recipient = self.users.get(uid) or builders.make_user(user_id=int(uid))
        self.users.setdefault(uid, recipient)
        channel = builders.make_dm_channel(recipient)
        self.channels[channel["id"]] = channel
        return channel

    def add_thread(
        self,
        parent: IdLike,
        name: str,
        *,
        owner: IdLike | None = None,
        message: IdLike | None = None,
    ) -> dict[str, Any]:
        """Create a public thread under ``parent`` (optionally started from ``message``)."""
        parent_channel = self.channel(parent)
        thread_id = to_id(message) if message is not None else None
        thread = builders.make_thread(
            guild_id=parent_channel["guild_id"],
            parent_id=parent_channel["id"],
            owner_id=to_id(owner) or self.bot_id,
            name=name,
            thread_id=thread_id,
        )
        thread["member"]["id"] = thread["id"]
        self.channels[thread["id"]] = thread
        if message is not None and thread_id in self.messages:
            self.messages[thread_id]["thread"] = copy.deepcopy(thread)
            self.messages[thread_id]["flags"] = int(self.messages[thread_id]["flags"]) | (1 << 5)
        return thread

    # ------------------------------------------------------------------ lookups

    def _guild_id(self, guild: IdLike) -> str:
        gid = to_id(guild)
        if gid not in self.guilds:
            raise unknown("Guild", 10004)
        return gid

    def guild(self, guild: IdLike) -> dict[str, Any]:
        """The guild object (raises :class:`ApiError` 404 if unknown)."""
        return self.guilds[self._guild_id(guild)]

    def channel(self, channel: IdLike) -> dict[str, Any]:
        """The channel object (raises :class:`ApiError` 404 if unknown)."""
        cid = to_id(channel)
        if cid not in self.channels:
            raise unknown("Channel", 10003)
        return self.channels[cid]

    def user(self, user: IdLike) -> dict[str, Any]:
        """The user object (raises :class:`ApiError` 404 if unknown)."""
        uid = to_id(user)
        if uid not in self.users:
            raise unknown("User", 10013)
        return self.users[uid]

    def message(self, message: IdLike, *, channel: IdLike | None = None) -> dict[str, Any]:
        """Latest state of a message (404 if unknown, deleted, or not in ``channel``)."""
        mid = to_id(message)
        msg = self.messages.get(mid or "")
        if msg is None or mid in self.deleted_messages:
            raise unknown("Message", 10008)
        if channel is not None and msg["channel_id"] != to_id(channel):
            raise unknown("Message", 10008)
        return msg

    def member_payload(
        self, guild: IdLike, user: IdLike, *, permissions: int | None = None
    ) -> dict[str, Any]:
        """Member object with ``user`` (and ``permissions`` as a string if given)."""
        gid, uid = self._guild_id(guild), to_id(user)
        member = self.members[gid].get(uid or "")
        if member is None:
            raise unknown("Member", 10007)
        payload = copy.deepcopy(member)
        payload["user"] = copy.deepcopy(self.users[uid])
        if permissions is not None:
            payload["permissions"] = str(int(permissions))
        return payload

    def guild_member_payloads(self, guild: IdLike) -> list[dict[str, Any]]:
        """All members of ``guild`` with their ``user``."""
        gid = self._guild_id(guild)
        return [self.member_payload(gid, uid) for uid in self.members[gid]]

    def guild_create_payload(self, guild: IdLike, intents: int) -> dict[str, Any]:
        """The GUILD_CREATE payload for ``guild`` as a session with ``intents`` would get it.

        Without the GUILD_MEMBERS intent only the bot's own member is included, like Discord.
        """
        gid = self._guild_id(guild)
        payload = copy.deepcopy(self.guilds[gid])
        channels = [c for c in self.channels.values() if c.get("guild_id") == gid]
        payload["channels"] = [copy.deepcopy(c) for c in channels if "thread_metadata" not in c]
        payload["threads"] = [copy.deepcopy(c) for c in channels if "thread_metadata" in c]
        members = self.guild_member_payloads(gid)
        if not intents & Intent.GUILD_MEMBERS:
            members = [m for m in members if m["user"]["id"] == self.bot_id]
        payload["members"] = members
        payload["member_count"] = len(self.members[gid])
        payload["unavailable"] = False
        payload["joined_at"] = self.members[gid][self.bot_id]["joined_at"]
        return payload

    def compute_permissions(
        self, guild: IdLike, user: IdLike, channel: IdLike | None = None
    ) -> int:
        """Resolved permissions of ``user`` in ``guild`` (and ``channel`` overwrites)."""
        gid, uid = self._guild_id(guild), to_id(user)
        guild_obj = self.guilds[gid]
        if guild_obj["owner_id"] == uid:
            return ALL_PERMISSIONS
        roles = {r["id"]: r for r in guild_obj["roles"]}
        member = self.members[gid].get(uid or "")
        member_roles = list(member["roles"]) if member else []
        perms = int(roles[gid]["permissions"])
        for rid in member_roles:
            if rid in roles:
                perms |= int(roles[rid]["permissions"])
        if perms & Permission.ADMINISTRATOR:
            return ALL_PERMISSIONS
        if channel is None:
            return perms
        chan = self.channels.get(to_id(channel) or "")
        if chan is None or "permission_overwrites" not in chan:
            return perms
        overwrites = {o["id"]: o for o in chan["permission_overwrites"]}

        def apply(ow: Mapping[str, Any] | None, value: int) -> int:
            if ow is None:
                return value
            return (value & ~int(ow.get("deny", 0))) | int(ow.get("allow", 0))

        perms = apply(overwrites.get(gid), perms)
        allow = deny = 0
        for rid in member_roles:
            ow = overwrites.get(rid)
            if ow is not None:
                allow |= int(ow.get("allow", 0))
                deny |= int(ow.get("deny", 0))
        perms = (perms & ~deny) | allow
        return apply(overwrites.get(uid or ""), perms)
