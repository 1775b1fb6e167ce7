"""Messages in the world (mixed into :class:`~fakecord.world.World`): creating, editing and
deleting them as Discord does, with mentions, attachments and what the bot may read."""

from __future__ import annotations

import copy
import mimetypes
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from . import builders
from .builders import (
    iso_timestamp,
    snowflake,
)
from .message_rules import stored_components, validate_message_body
from .wire import (
    IS_COMPONENTS_V2,
    LOADING,
    SUPPRESS_EMBEDS,
    TEST_ONLY_KEYS,
    ApiError,
    IdLike,
    form_error,
    to_id,
)

if TYPE_CHECKING:
    from .world import World


_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


class MessageStore:
    """Messages: their wire form, mentions, attachments and changes."""

    def wire_message(self: World, message: Mapping[str, Any]) -> dict[str, Any]:
        """A deep copy of ``message`` as sent over the wire (test-only keys removed)."""
        return {k: copy.deepcopy(v) for k, v in message.items() if k not in TEST_ONLY_KEYS}

    def content_visible_to_bot(self: World, message: Mapping[str, Any]) -> bool:
        """Discord's MESSAGE_CONTENT rule: DMs, the bot's own messages and messages that
        mention the bot keep their content even without the intent."""
        if message.get("guild_id") is None:
            return True
        if message["author"]["id"] == self.bot_id:
            return True
        return any(u["id"] == self.bot_id for u in message.get("mentions", []))

    def blank_content(self: World, message: dict[str, Any]) -> dict[str, Any]:
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

    def mention_user(self: World, user: IdLike, guild_id: str | None) -> dict[str, Any]:
        """A user object as listed in a message's ``mentions`` (with partial ``member``)."""
        uid = to_id(user) or ""
        mentioned = copy.deepcopy(self.user(uid))
        if guild_id is not None and uid in self.members.get(guild_id, {}):
            mentioned["member"] = copy.deepcopy(self.members[guild_id][uid])
        return mentioned

    def resolve_mentions(
        self: World,
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
        self: World,
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
                raise form_error(
                    "attachments", "ATTACHMENT_NOT_FOUND", "Unknown attachment"
                ) from None
            if index not in files:
                raise form_error(
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
        self: World,
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
                    raise form_error(
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
        self: World,
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

    def delete_message(self: World, message: IdLike) -> dict[str, Any]:
        """Mark a message deleted (it stays in ``messages`` for inspection)."""
        msg = self.message(message)
        self.deleted_messages.add(msg["id"])
        return msg
