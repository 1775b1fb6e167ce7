"""What users do, for tests (mixed into ``FakeDiscord``): post messages and DMs, run slash,
autocomplete and context-menu commands, click components."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .interactions import MESSAGE_COMMAND, USER_COMMAND
from .records import (
    FakeDiscordError,
    InteractionRecord,
)
from .wire import IdLike, to_id

if TYPE_CHECKING:
    from .server import FakeDiscord


class UserActions:
    """Test-side actions of users, sent to the bot over the gateway."""

    def _resolve_channel_id(
        self: FakeDiscord, channel_id: IdLike | None, guild_id: IdLike | None
    ) -> str:
        if channel_id is not None:
            cid = to_id(channel_id)
            assert cid is not None
            self.world.channel(cid)
            return cid
        if guild_id is not None:
            gid = to_id(guild_id)
            for channel in self.world.channels.values():
                if channel.get("guild_id") == gid and channel["type"] == 0:
                    return str(channel["id"])
            raise FakeDiscordError(f"guild {gid} has no text channel")
        if not self.channel:
            raise FakeDiscordError("no channel given and there is no default channel")
        return str(self.channel["id"])

    def _resolve_user(self: FakeDiscord, user: IdLike | None) -> dict[str, Any]:
        if user is None:
            if not self.user:
                raise FakeDiscordError("no user given and there is no default user")
            return self.user
        return self.world.user(user)

    async def send_user_message(
        self: FakeDiscord,
        channel_id: IdLike | None = None,
        author: IdLike | None = None,
        content: str = "",
        *,
        mentions: list[IdLike] | None = None,
        message_reference: IdLike | None = None,
        guild_id: IdLike | None = None,
        mention_replied_user: bool = True,
        embeds: list[dict[str, Any]] | None = None,
        attachments: list[tuple[str, bytes]] | None = None,
    ) -> dict[str, Any]:
        """A user posts a message: stored, then MESSAGE_CREATE to the bot (content blanked
        for sessions without MESSAGE_CONTENT unless it is a DM or mentions the bot).

        ``channel_id`` defaults to :attr:`channel` (or the first text channel of
        ``guild_id``), ``author`` to :attr:`user`. ``mentions`` defaults to the ``<@id>``
        mentions in ``content``; ``message_reference`` (a message dict or id) makes it a reply,
        which also pings the replied-to author unless ``mention_replied_user=False``.
        ``attachments`` are ``(filename, bytes)`` pairs. Returns the full message dict.
        """
        cid = self._resolve_channel_id(channel_id, guild_id)
        user = self._resolve_user(author)
        body: dict[str, Any] = {
            "content": content,
            "embeds": embeds or [],
            "allowed_mentions": {
                "parse": ["users", "roles", "everyone"],
                "replied_user": mention_replied_user,
            },
        }
        if message_reference is not None:
            body["message_reference"] = {"message_id": to_id(message_reference)}
        files = {i: (name, "", data) for i, (name, data) in enumerate(attachments or [])}
        message = self.world.create_message(
            channel=cid, author=user, body=body, files=files, validate=False
        )
        if mentions is not None:
            message["mentions"] = [
                self.world.mention_user(m, message.get("guild_id")) for m in mentions
            ]
        message.pop("allowed_mentions", None)
        self.world.message_versions[message["id"]] = [copy.deepcopy(message)]
        await self.dispatch_message_event("MESSAGE_CREATE", message)
        return copy.deepcopy(message)

    async def send_dm(
        self: FakeDiscord, author: IdLike | None = None, content: str = ""
    ) -> dict[str, Any]:
        """``author`` (default :attr:`user`) sends the bot a direct message."""
        user = self._resolve_user(author)
        channel = self.world.dm_channel(user)
        return await self.send_user_message(channel["id"], user, content)

    async def _send_interaction(self: FakeDiscord, payload: dict[str, Any]) -> dict[str, Any]:
        record = InteractionRecord(id=payload["id"], token=payload["token"], payload=payload)
        self.interactions[record.id] = record
        count = await self.dispatch("INTERACTION_CREATE", payload)
        if count == 0:
            raise FakeDiscordError("no bot gateway session can receive the interaction")
        return copy.deepcopy(payload)

    async def invoke_slash(
        self: FakeDiscord,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        user: IdLike | None = None,
        guild_id: IdLike | None = None,
        channel_id: IdLike | None = None,
        member_permissions: int | None = None,
        locale: str = "en-US",
    ) -> dict[str, Any]:
        """A user runs slash command ``name`` (``"group sub"`` for subcommands).

        Option values are typed from the synced definition: users/members, channels, roles
        may be dicts or ids (filled into ``resolved``), attachments are ``{"filename",
        "data"}`` dicts or ``(filename, bytes)``. Raises :class:`CommandNotSyncedError` if
        the command was not synced globally or to the channel's guild, and
        :class:`FakeDiscordError` for input a Discord client would not allow. The channel
        defaults to :attr:`channel` (or the first text channel of ``guild_id``); a DM
        channel makes it a DM invocation. Returns the INTERACTION_CREATE payload (use its
        ``"id"`` with :meth:`wait_for_interaction_reply`).
        """
        payload = self.builder.chat_input(
            name,
            options,
            user=self._resolve_user(user),
            channel_id=self._resolve_channel_id(channel_id, guild_id),
            member_permissions=member_permissions,
            locale=locale,
        )
        return await self._send_interaction(payload)

    async def invoke_autocomplete(
        self: FakeDiscord,
        name: str,
        options: Mapping[str, Any],
        focused: str,
        *,
        user: IdLike | None = None,
        guild_id: IdLike | None = None,
        channel_id: IdLike | None = None,
        locale: str = "en-US",
    ) -> dict[str, Any]:
        """A user types into option ``focused`` of ``name`` (INTERACTION_CREATE type 4).

        Use :meth:`wait_for_autocomplete` for the bot's choices.
        """
        payload = self.builder.chat_input(
            name,
            options,
            user=self._resolve_user(user),
            channel_id=self._resolve_channel_id(channel_id, guild_id),
            locale=locale,
            focused=focused,
        )
        return await self._send_interaction(payload)

    async def invoke_message_command(
        self: FakeDiscord,
        name: str,
        target_message: IdLike,
        *,
        user: IdLike | None = None,
        member_permissions: int | None = None,
        locale: str = "en-US",
    ) -> dict[str, Any]:
        """A user runs message context-menu command ``name`` on ``target_message``
        (type 2, command type 3, ``resolved.messages``), in the message's channel."""
        message = self.world.message(target_message)
        payload = self.builder.context_menu(
            name,
            MESSAGE_COMMAND,
            message,
            user=self._resolve_user(user),
            channel_id=message["channel_id"],
            member_permissions=member_permissions,
            locale=locale,
        )
        return await self._send_interaction(payload)

    async def invoke_user_command(
        self: FakeDiscord,
        name: str,
        target_user: IdLike,
        *,
        user: IdLike | None = None,
        channel_id: IdLike | None = None,
        guild_id: IdLike | None = None,
        locale: str = "en-US",
    ) -> dict[str, Any]:
        """A user runs user context-menu command ``name`` on ``target_user``."""
        payload = self.builder.context_menu(
            name,
            USER_COMMAND,
            self.world.user(target_user),
            user=self._resolve_user(user),
            channel_id=self._resolve_channel_id(channel_id, guild_id),
            locale=locale,
        )
        return await self._send_interaction(payload)

    async def click_component(
        self: FakeDiscord,
        message: IdLike,
        custom_id: str,
        *,
        user: IdLike | None = None,
        values: list[str] | None = None,
        locale: str = "en-US",
    ) -> dict[str, Any]:
        """A user clicks button / picks ``values`` in select ``custom_id`` on ``message``
        (its latest state). Raises :class:`FakeDiscordError` if no such enabled component
        is on the message."""
        msg = self.world.message(message)
        payload = self.builder.component(
            msg, custom_id, user=self._resolve_user(user), values=values, locale=locale
        )
        return await self._send_interaction(payload)
