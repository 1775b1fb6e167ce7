"""The fake server's world model: users, guilds, channels, members, messages and commands.

:class:`World` is pure state plus Discord's rules for shaping and validating payloads
(message limits, mentions, attachments, permissions, command definitions). It does no I/O;
:class:`~fakecord.server.FakeDiscord` wraps it with HTTP and gateway traffic. Ids are
stored as strings, like on the wire; every public method also accepts ints or the dicts
themselves wherever an id is expected.
"""

from __future__ import annotations

import copy
import itertools
import logging
import mimetypes
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from . import builders
from .builders import (
    DEFAULT_ATTACHMENT_SIZE_LIMIT,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_MEMBER_PERMISSIONS,
    ChannelType,
    Intent,
    Permission,
    iso_timestamp,
    snowflake,
)

logger = logging.getLogger(__name__)

IdLike = int | str | Mapping[str, Any]

ALL_PERMISSIONS = (1 << 51) - 1
EPHEMERAL = 1 << 6
LOADING = 1 << 7
SUPPRESS_EMBEDS = 1 << 2
IS_COMPONENTS_V2 = 1 << 15

#: Message keys the fake keeps for tests but never sends over the wire.
TEST_ONLY_KEYS = frozenset({"allowed_mentions"})

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")
#: What a button of each style must carry: an id to click, a URL to open, a SKU to buy.
_BUTTON_NEEDS = {
    1: "custom_id",
    2: "custom_id",
    3: "custom_id",
    4: "custom_id",
    5: "url",
    6: "sku_id",
}


def to_id(value: IdLike | None) -> str | None:
    """Return the snowflake of ``value`` (an int, str, or a dict with ``"id"``) as a string."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return str(value["id"])
    return str(value)


class ApiError(Exception):
    """A Discord JSON error response (``{"message": ..., "code": ..., "errors": ...}``)."""

    def __init__(
        self, status: int, code: int, message: str, errors: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.body: dict[str, Any] = {"message": message, "code": code}
        if errors is not None:
            self.body["errors"] = dict(errors)


def _form_error(path: str, code: str, message: str) -> ApiError:
    """Build a 50035 Invalid Form Body error for a dotted field ``path``."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(path.split(".")):
        errors = {part: errors}
    return ApiError(400, 50035, "Invalid Form Body", errors)


def unknown(what: str, code: int) -> ApiError:
    """A 404 ``Unknown <what>`` error."""
    return ApiError(404, code, f"Unknown {what}")


class World:
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

    # ------------------------------------------------------------------ messages

    def wire_message(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """A deep copy of ``message`` as sent over the wire (test-only keys removed)."""
        return {k: copy.deepcopy(v) for k, v in message.items() if k not in TEST_ONLY_KEYS}

    def content_visible_to_bot(self, message: Mapping[str, Any]) -> bool:
        """Discord's MESSAGE_CONTENT rule: DMs, the bot's own messages and messages that
        mention the bot keep their content even without the intent."""
        if message.get("guild_id") is None:
            return True
        if message["author"]["id"] == self.bot_id:
            return True
        return any(u["id"] == self.bot_id for u in message.get("mentions", []))

    def blank_content(self, message: dict[str, Any]) -> dict[str, Any]:
        """Apply the MESSAGE_CONTENT rule to a wire message in place (also its reference)."""
        if not self.content_visible_to_bot(message):
            message["content"] = ""
            message["embeds"] = []
            message["attachments"] = []
            message["components"] = []
            message.pop("poll", None)
        ref = message.get("referenced_message")
        if isinstance(ref, dict):
            ref.setdefault("guild_id", message.get("guild_id"))
            self.blank_content(ref)
        return message

    def mention_user(self, user: IdLike, guild_id: str | None) -> dict[str, Any]:
        """A user object as listed in a message's ``mentions`` (with partial ``member``)."""
        uid = to_id(user) or ""
        mentioned = copy.deepcopy(self.user(uid))
        if guild_id is not None and uid in self.members.get(guild_id, {}):
            mentioned["member"] = copy.deepcopy(self.members[guild_id][uid])
        return mentioned

    def resolve_mentions(
        self,
        content: str,
        allowed_mentions: Mapping[str, Any] | None,
        guild_id: str | None,
        replied_author: Mapping[str, Any] | None = None,
    ) -> tuple[list[dict[str, Any]], list[str], bool]:
        """Compute ``(mentions, mention_roles, mention_everyone)`` the way Discord does:
        mentions in ``content`` filtered by ``allowed_mentions``, plus the replied-to author
        when ``replied_user`` allows it (the default when ``allowed_mentions`` is absent)."""
        if allowed_mentions is None:
            parse: set[str] = {"users", "roles", "everyone"}
            allowed_users: set[str] = set()
            allowed_roles: set[str] = set()
            replied_user = True
        else:
            parse = set(allowed_mentions.get("parse") or [])
            allowed_users = {str(u) for u in allowed_mentions.get("users") or []}
            allowed_roles = {str(r) for r in allowed_mentions.get("roles") or []}
            replied_user = bool(allowed_mentions.get("replied_user", False))
        mentions: list[dict[str, Any]] = []
        seen: set[str] = set()

        def add(uid: str) -> None:
            if uid in seen or uid not in self.users:
                return
            seen.add(uid)
            mentions.append(self.mention_user(uid, guild_id))

        for uid in _USER_MENTION.findall(content):
            if "users" in parse or uid in allowed_users:
                add(uid)
        if replied_author is not None and replied_user:
            add(str(replied_author["id"]))
        roles = [
            rid
            for rid in dict.fromkeys(_ROLE_MENTION.findall(content))
            if "roles" in parse or rid in allowed_roles
        ]
        everyone = "everyone" in parse and ("@everyone" in content or "@here" in content)
        return mentions, roles, everyone

    def build_attachments(
        self,
        channel_id: str,
        body_attachments: list[Mapping[str, Any]] | None,
        files: Mapping[int, tuple[str, str, bytes]],
        existing: Iterable[Mapping[str, Any]] = (),
    ) -> list[dict[str, Any]]:
        """Turn ``attachments`` entries + uploaded ``files`` (index -> (filename,
        content_type, data)) into attachment objects. Entries whose id is an existing
        attachment id keep that attachment (edits); numeric ids refer to ``files[N]``."""
        existing_by_id = {a["id"]: a for a in existing}
        if body_attachments is None:
            body_attachments = [{"id": index} for index in sorted(files)]
        result: list[dict[str, Any]] = []
        total = 0
        for entry in body_attachments:
            entry_id = str(entry.get("id"))
            if entry_id in existing_by_id:
                result.append(copy.deepcopy(existing_by_id[entry_id]))
                continue
            try:
                index = int(entry_id)
            except ValueError:
                raise _form_error(
                    "attachments", "ATTACHMENT_NOT_FOUND", "Unknown attachment"
                ) from None
            if index not in files:
                raise _form_error(
                    f"attachments.{index}", "ATTACHMENT_NOT_FOUND", "Attachment data not found"
                )
            filename, content_type, data = files[index]
            filename = str(entry.get("filename") or filename)
            total += len(data)
            aid = str(snowflake())
            url = f"{self.http_base}/attachments/{channel_id}/{aid}/{filename}"
            guessed = mimetypes.guess_type(filename)[0]
            if content_type in ("", "application/octet-stream") and guessed:
                content_type = guessed
            attachment: dict[str, Any] = {
                "id": aid,
                "filename": filename,
                "size": len(data),
                "url": url,
                "proxy_url": url,
                "content_type": content_type,
            }
            if entry.get("description"):
                attachment["description"] = entry["description"]
            size = builders.image_size(data)
            if size is not None:
                attachment["width"], attachment["height"] = size
            self.attachment_data[aid] = data
            result.append(attachment)
        if total > self.attachment_size_limit:
            raise ApiError(413, 40005, "Request entity too large")
        return result

    def _resolve_embed_attachments(
        self, embeds: list[dict[str, Any]], attachments: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        by_name = {a["filename"]: a for a in attachments}
        out = []
        for embed in embeds:
            embed = copy.deepcopy(embed)
            embed.setdefault("type", "rich")
            for field in embed.get("fields") or []:
                field.setdefault("inline", False)  # Discord always answers it
            for key in ("image", "thumbnail"):
                media = embed.get(key)
                if isinstance(media, dict) and str(media.get("url", "")).startswith(
                    "attachment://"
                ):
                    att = by_name.get(media["url"][len("attachment://") :])
                    if att is not None:
                        media.update({"url": att["url"], "proxy_url": att["proxy_url"]})
                        if "width" in att:
                            media.update({"width": att["width"], "height": att["height"]})
            out.append(embed)
        return out

    def create_message(
        self,
        *,
        channel: IdLike,
        author: Mapping[str, Any],
        body: Mapping[str, Any],
        files: Mapping[int, tuple[str, str, bytes]] | None = None,
        message_type: int = 0,
        extra: Mapping[str, Any] | None = None,
        validate: bool = True,
    ) -> dict[str, Any]:
        """Validate ``body`` like ``POST /channels/{id}/messages`` and store the new message.

        Raises :class:`ApiError` for what Discord rejects (empty message, too long content,
        embed limits, unknown reply target...). Returns the stored message (latest state).
        """
        chan = self.channel(channel)
        files = files or {}
        if validate:
            validate_message_body(body, has_files=bool(files), creating=True)
        guild_id = chan.get("guild_id")
        attachments = self.build_attachments(chan["id"], body.get("attachments"), files)
        reference = body.get("message_reference")
        referenced: dict[str, Any] | None = None
        if reference:
            ref_id = str(reference.get("message_id"))
            ref_msg = self.messages.get(ref_id)
            if ref_msg is None or ref_id in self.deleted_messages:
                if reference.get("fail_if_not_exists", True):
                    raise _form_error(
                        "message_reference",
                        "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                        "Unknown message",
                    )
                reference = None
            else:
                referenced = ref_msg
                reference = {
                    "type": int(reference.get("type", 0)),
                    "message_id": ref_id,
                    "channel_id": ref_msg["channel_id"],
                }
                if ref_msg.get("guild_id") is not None:
                    reference["guild_id"] = ref_msg["guild_id"]
                if message_type == 0 and reference["type"] == 0:
                    message_type = 19
        allowed = body.get("allowed_mentions")
        content = str(body.get("content") or "")
        mentions, mention_roles, everyone = self.resolve_mentions(
            content, allowed, guild_id, referenced["author"] if referenced else None
        )
        mid = str(snowflake())
        message: dict[str, Any] = {
            "id": mid,
            "type": message_type,
            "channel_id": chan["id"],
            "author": copy.deepcopy(dict(author)),
            "content": content,
            "timestamp": iso_timestamp(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": everyone,
            "mentions": mentions,
            "mention_roles": mention_roles,
            "attachments": attachments,
            "embeds": self._resolve_embed_attachments(list(body.get("embeds") or []), attachments),
            "pinned": False,
            "flags": int(body.get("flags") or 0),
            "components": stored_components(body.get("components")),
            "allowed_mentions": copy.deepcopy(allowed),
        }
        if guild_id is not None:
            message["guild_id"] = guild_id
            if str(author["id"]) in self.members.get(guild_id, {}):
                message["member"] = copy.deepcopy(self.members[guild_id][str(author["id"])])
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        if body.get("poll") is not None:
            message["poll"] = copy.deepcopy(body["poll"])
        if reference is not None:
            message["message_reference"] = reference
            message["referenced_message"] = self.wire_message(referenced or {})
            message["referenced_message"].pop("referenced_message", None)
        if extra:
            message.update(copy.deepcopy(dict(extra)))
        self.messages[mid] = message
        self.message_versions[mid] = [copy.deepcopy(message)]
        chan["last_message_id"] = mid
        return message

    def edit_message(
        self,
        message: IdLike,
        body: Mapping[str, Any],
        files: Mapping[int, tuple[str, str, bytes]] | None = None,
        *,
        mark_edited: bool = True,
    ) -> dict[str, Any]:
        """Apply a PATCH body to a stored message (content, embeds, components, attachments,
        allowed_mentions, flags) and return its new state."""
        msg = self.message(message)
        files = files or {}
        validate_message_body(body, has_files=bool(files), creating=False)
        if "attachments" in body:
            msg["attachments"] = self.build_attachments(
                msg["channel_id"], body["attachments"] or [], files, existing=msg["attachments"]
            )
        elif files:
            # Without an ``attachments`` list, new files are added to the existing ones.
            msg["attachments"] = msg["attachments"] + self.build_attachments(
                msg["channel_id"], None, files
            )
        if "content" in body:
            msg["content"] = str(body["content"] or "")
        if "allowed_mentions" in body:
            msg["allowed_mentions"] = copy.deepcopy(body["allowed_mentions"])
        if "content" in body or "allowed_mentions" in body:
            referenced = msg.get("referenced_message")
            mentions, roles, everyone = self.resolve_mentions(
                msg["content"],
                msg.get("allowed_mentions"),
                msg.get("guild_id"),
                referenced["author"] if isinstance(referenced, dict) else None,
            )
            msg.update(mentions=mentions, mention_roles=roles, mention_everyone=everyone)
        if "embeds" in body:
            msg["embeds"] = self._resolve_embed_attachments(
                list(body["embeds"] or []), msg["attachments"]
            )
        if "components" in body:
            msg["components"] = stored_components(body["components"])
        if body.get("flags") is not None:
            keep = int(msg["flags"]) & ~(SUPPRESS_EMBEDS | IS_COMPONENTS_V2)
            msg["flags"] = keep | (int(body["flags"]) & (SUPPRESS_EMBEDS | IS_COMPONENTS_V2))
        if msg["flags"] & LOADING:
            msg["flags"] = int(msg["flags"]) & ~LOADING
        elif mark_edited:
            msg["edited_timestamp"] = iso_timestamp()
        if not (msg["content"].strip() or msg["embeds"] or msg["attachments"] or msg["components"]):
            raise ApiError(400, 50006, "Cannot send an empty message")
        self.message_versions[msg["id"]].append(copy.deepcopy(msg))
        return msg

    def delete_message(self, message: IdLike) -> dict[str, Any]:
        """Mark a message deleted (it stays in ``messages`` for inspection)."""
        msg = self.message(message)
        self.deleted_messages.add(msg["id"])
        return msg

    # ------------------------------------------------------------------ commands

    def commands_for(self, guild: IdLike | None) -> list[dict[str, Any]]:
        """The synced commands of ``guild`` (``None``: the global ones)."""
        if guild is None:
            return self.global_commands
        return self.guild_commands.setdefault(self._guild_id(guild), [])

    def find_command(self, name: str, command_type: int, guild: IdLike | None) -> dict | None:
        """The synced command visible in ``guild`` (guild commands first, then global)."""
        scopes = ([self.commands_for(guild)] if guild is not None else []) + [self.global_commands]
        for scope in scopes:
            for command in scope:
                if command["name"] == name and int(command.get("type", 1)) == command_type:
                    return command
        return None

    def _normalize_command(
        self,
        body: Mapping[str, Any],
        guild_id: str | None,
        existing: list[dict[str, Any]],
        index: int,
    ) -> dict[str, Any]:
        command_type = int(body.get("type") or 1)
        name = body.get("name")
        prefix = str(index)
        if not isinstance(name, str) or not 1 <= len(name) <= 32:
            raise _form_error(
                f"{prefix}.name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length."
            )
        description = body.get("description") or ""
        if command_type == 1:
            if not _COMMAND_NAME.match(name) or name != name.lower():
                raise _form_error(
                    f"{prefix}.name",
                    "APPLICATION_COMMAND_INVALID_NAME",
                    "Command name is invalid",
                )
            if not 1 <= len(description) <= 100:
                raise _form_error(
                    f"{prefix}.description",
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                )
            _validate_options(list(body.get("options") or []), f"{prefix}.options")
        elif description:
            raise _form_error(
                f"{prefix}.description",
                "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION",
                "Context menu commands cannot have description",
            )
        previous = next(
            (c for c in existing if c["name"] == name and int(c.get("type", 1)) == command_type),
            None,
        )
        command: dict[str, Any] = {
            "id": previous["id"] if previous else str(snowflake()),
            "application_id": self.application_id,
            "version": str(snowflake()),
            "type": command_type,
            "name": name,
            "name_localizations": body.get("name_localizations"),
            "description": description,
            "description_localizations": body.get("description_localizations"),
            "default_member_permissions": _permissions_string(
                body.get("default_member_permissions")
            ),
            "nsfw": bool(body.get("nsfw", False)),
            "integration_types": body.get("integration_types") or [0],
            "contexts": body.get("contexts"),
        }
        if body.get("options"):
            command["options"] = copy.deepcopy(list(body["options"]))
        if guild_id is None:
            command["dm_permission"] = body.get("dm_permission", True)
        else:
            command["guild_id"] = guild_id
        return command

    def sync_commands(self, guild: IdLike | None, bodies: list[Mapping[str, Any]]) -> list[dict]:
        """Bulk-overwrite the commands of a scope (``PUT .../commands``). Ids are kept for
        commands with the same name and type, like Discord."""
        if not isinstance(bodies, list):
            raise ApiError(400, 50035, "Invalid Form Body")
        guild_id = None if guild is None else self._guild_id(guild)
        existing = self.commands_for(guild_id)
        seen: set[tuple[str, int]] = set()
        commands = []
        for index, body in enumerate(bodies):
            command = self._normalize_command(body, guild_id, existing, index)
            key = (command["name"], command["type"])
            if key in seen:
                raise _form_error(
                    str(index),
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    "Application command names must be unique",
                )
            seen.add(key)
            commands.append(command)
        if len(commands) > 100 + 5 + 5:
            raise ApiError(400, 30032, "Maximum number of application commands reached")
        existing[:] = commands
        self.sync_log.append((guild_id, [c["name"] for c in commands]))
        return copy.deepcopy(commands)

    def upsert_command(self, guild: IdLike | None, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create or replace one command (``POST .../commands``)."""
        guild_id = None if guild is None else self._guild_id(guild)
        existing = self.commands_for(guild_id)
        command = self._normalize_command(body, guild_id, existing, 0)
        existing[:] = [c for c in existing if c["id"] != command["id"]] + [command]
        self.sync_log.append((guild_id, [command["name"]]))
        return copy.deepcopy(command)

    def get_command(self, guild: IdLike | None, command_id: str) -> dict[str, Any]:
        """One command by id (404 ``Unknown application command`` otherwise)."""
        for command in self.commands_for(guild):
            if command["id"] == command_id:
                return command
        raise unknown("application command", 10063)


def _permissions_string(value: Any) -> str | None:
    """Discord answers permission bitsets as strings, whatever number type it was sent."""
    return None if value is None else str(int(value))


def _validate_options(options: list[Mapping[str, Any]], path: str) -> None:
    if len(options) > 25:
        raise _form_error(path, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    seen_optional = False
    for i, option in enumerate(options):
        name = option.get("name", "")
        description = option.get("description", "")
        if not _COMMAND_NAME.match(str(name)) or name != str(name).lower():
            raise _form_error(
                f"{path}.{i}.name", "APPLICATION_COMMAND_INVALID_NAME", "Option name is invalid"
            )
        if not 1 <= len(description) <= 100:
            raise _form_error(
                f"{path}.{i}.description",
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            )
        if len(option.get("choices") or []) > 25:
            raise _form_error(
                f"{path}.{i}.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
            )
        if int(option.get("type", 0)) in (1, 2):
            _validate_options(list(option.get("options") or []), f"{path}.{i}.options")
            continue
        if option.get("required"):
            if seen_optional:
                raise _form_error(
                    f"{path}.{i}",
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            seen_optional = True


def _embed_text_length(embed: Mapping[str, Any]) -> int:
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    for field in embed.get("fields") or []:
        total += len(field.get("name") or "") + len(field.get("value") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    return total


def validate_message_body(body: Mapping[str, Any], *, has_files: bool, creating: bool) -> None:
    """Raise :class:`ApiError` for message bodies Discord rejects (limits from the API docs)."""
    content = body.get("content")
    if content is not None and len(str(content)) > 2000:
        raise _form_error("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        raise _form_error("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    limits = {"title": 256, "description": 4096}
    for i, embed in enumerate(embeds):
        for key, limit in limits.items():
            if len(embed.get(key) or "") > limit:
                raise _form_error(
                    f"embeds.{i}.{key}",
                    "BASE_TYPE_MAX_LENGTH",
                    f"Must be {limit} or fewer in length.",
                )
        fields = embed.get("fields") or []
        if len(fields) > 25:
            raise _form_error(
                f"embeds.{i}.fields", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
            )
        for j, field in enumerate(fields):
            for key, limit in (("name", 256), ("value", 1024)):
                value = field.get(key)
                if value is None or not str(value).strip():
                    raise _form_error(
                        f"embeds.{i}.fields.{j}.{key}",
                        "BASE_TYPE_REQUIRED",
                        "This field is required",
                    )
                if len(str(value)) > limit:
                    raise _form_error(
                        f"embeds.{i}.fields.{j}.{key}",
                        "BASE_TYPE_MAX_LENGTH",
                        f"Must be {limit} or fewer in length.",
                    )
        if len((embed.get("footer") or {}).get("text") or "") > 2048:
            raise _form_error(
                f"embeds.{i}.footer.text",
                "BASE_TYPE_MAX_LENGTH",
                "Must be 2048 or fewer in length.",
            )
        if len((embed.get("author") or {}).get("name") or "") > 256:
            raise _form_error(
                f"embeds.{i}.author.name", "BASE_TYPE_MAX_LENGTH", "Must be 256 or fewer in length."
            )
    if sum(_embed_text_length(e) for e in embeds) > 6000:
        raise _form_error(
            "embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"
        )
    allowed = body.get("allowed_mentions")
    if isinstance(allowed, Mapping):
        parse = set(allowed.get("parse") or [])
        for kind in ("users", "roles"):
            if kind in parse and allowed.get(kind):
                raise _form_error(
                    f"allowed_mentions.{kind}",
                    "SET_TYPE_ALREADY_CONTAINS_VALUE",
                    f'parse:["{kind}"] and {kind}: [ids] are mutually exclusive.',
                )
    components = body.get("components") or []
    flags = int(body.get("flags") or 0)
    custom_ids: set[str] = set()

    def walk(items: Iterable[Mapping[str, Any]], path: str) -> None:
        for k, item in enumerate(items):
            custom_id = item.get("custom_id")
            # The spec cannot say it: a button needs what its style acts on.
            needed = (
                _BUTTON_NEEDS.get(int(item.get("style") or 0)) if item.get("type") == 2 else None
            )
            if needed is not None and not item.get(needed):
                raise _form_error(
                    f"{path}.{k}.{needed}", "BASE_TYPE_REQUIRED", "This field is required"
                )
            if custom_id is not None:
                if len(str(custom_id)) > 100:
                    raise _form_error(
                        f"{path}.{k}.custom_id",
                        "BASE_TYPE_MAX_LENGTH",
                        "Must be 100 or fewer in length.",
                    )
                if custom_id in custom_ids:
                    raise _form_error(
                        f"{path}.{k}.custom_id",
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated",
                    )
                custom_ids.add(str(custom_id))
            if len(str(item.get("label") or "")) > 80:
                raise _form_error(
                    f"{path}.{k}.label", "BASE_TYPE_MAX_LENGTH", "Must be 80 or fewer in length."
                )
            children = item.get("components")
            if children:
                if int(item.get("type", 0)) == 1 and len(children) > 5:
                    raise _form_error(
                        f"{path}.{k}.components",
                        "BASE_TYPE_MAX_LENGTH",
                        "Must be 5 or fewer in length.",
                    )
                walk(children, f"{path}.{k}.components")

    if not flags & IS_COMPONENTS_V2 and len(components) > 5:
        raise _form_error("components", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
    walk(components, "components")
    if creating:
        has_content = bool(str(content or "").strip())
        if not (
            has_content
            or embeds
            or has_files
            or components
            or body.get("sticker_ids")
            or body.get("poll")
        ):
            raise ApiError(400, 50006, "Cannot send an empty message")


def iter_components(components: Iterable[Any]) -> Iterator[Any]:
    """Every component of a (nested) components list, in reading order."""
    for item in components:
        yield item
        yield from iter_components(item.get("components") or [])
        if isinstance(item.get("accessory"), Mapping):
            yield item["accessory"]


def find_component(components: Iterable[Mapping[str, Any]], custom_id: str) -> dict | None:
    """Find the component with ``custom_id`` in a (nested) components list."""
    found = (c for c in iter_components(components) if c.get("custom_id") == custom_id)
    return next((dict(c) for c in found), None)


def stored_components(components: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """A copy of ``components`` as Discord stores them: each without an ``id`` gets the next
    number not taken in the message, in reading order."""
    stored = copy.deepcopy(list(components or []))
    taken = {c["id"] for c in iter_components(stored) if c.get("id") is not None}
    numbers = (n for n in itertools.count(1) if n not in taken)
    for component in iter_components(stored):
        if component.get("id") is None:
            component["id"] = next(numbers)
    return stored
