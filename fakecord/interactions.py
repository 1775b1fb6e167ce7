"""Builds INTERACTION_CREATE payloads the way Discord does, from the synced commands.

The helpers refuse what a Discord client would not let a user do (invoke a command that
was never synced, skip a required option, pick a value outside the choices, click a
component that is not on the message) by raising
:class:`~fakecord.records.FakeDiscordError`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from .builders import new_token, snowflake
from .command_options import SUB_COMMAND, SUB_COMMAND_GROUP, build_options
from .flags import DEFAULT_MEMBER_PERMISSIONS, ChannelType, Permission
from .message_rules import find_component
from .records import CommandNotSyncedError, FakeDiscordError
from .world import World

# Interaction types
PING = 1
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

# Application command types
CHAT_INPUT = 1
USER_COMMAND = 2
MESSAGE_COMMAND = 3

_COMMAND_TYPE_NAMES = {
    CHAT_INPUT: "slash command",
    USER_COMMAND: "user command",
    MESSAGE_COMMAND: "message command",
}


class InteractionBuilder:
    """Creates interaction payloads for a :class:`World` (used by ``FakeDiscord``)."""

    def __init__(self, world: World) -> None:
        self.world = world

    # ------------------------------------------------------------------ context

    def _context(
        self,
        *,
        user: Mapping[str, Any],
        channel_id: str,
        member_permissions: int | None,
        locale: str,
    ) -> dict[str, Any]:
        """Fields shared by all interaction types (user/member, channel, guild, perms...)."""
        world = self.world
        channel = copy.deepcopy(world.channel(channel_id))
        guild_id = channel.get("guild_id")
        payload: dict[str, Any] = {
            "id": str(snowflake()),
            "application_id": world.application_id,
            "token": new_token("aW50ZXJhY3Rpb246"),
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": world.attachment_size_limit,
            "channel_id": channel["id"],
        }
        if guild_id is not None:
            if str(user["id"]) not in world.members[guild_id]:
                raise FakeDiscordError(
                    f"user {user['username']} is not a member of guild {guild_id}; "
                    "add them with fake.add_member() first"
                )
            perms = (
                world.compute_permissions(guild_id, user["id"], channel["id"])
                if member_permissions is None
                else int(member_permissions)
            )
            channel["permissions"] = str(perms)
            payload.update(
                guild_id=guild_id,
                guild={"id": guild_id, "locale": "en-US", "features": []},
                guild_locale="en-US",
                member=world.member_payload(guild_id, user["id"], permissions=perms),
                app_permissions=str(
                    world.compute_permissions(guild_id, world.bot_id, channel["id"])
                ),
                context=0,
                authorizing_integration_owners={"0": guild_id},
            )
        else:
            perms = (
                int(DEFAULT_MEMBER_PERMISSIONS)
                if member_permissions is None
                else int(member_permissions)
            )
            channel["permissions"] = str(perms)
            payload.update(
                user=copy.deepcopy(dict(user)),
                app_permissions=str(int(DEFAULT_MEMBER_PERMISSIONS)),
                context=1,
                authorizing_integration_owners={"0": "0"},
            )
        payload["channel"] = channel
        payload["_member_permissions"] = perms
        return payload

    def _command(
        self, name: str, command_type: int, guild_id: str | None, perms: int, in_dm: bool
    ) -> dict[str, Any]:
        command = self.world.find_command(name, command_type, guild_id)
        kind = _COMMAND_TYPE_NAMES.get(command_type, f"type {command_type} command")
        if command is None:
            synced = [
                f"{c['name']} (type {c.get('type', 1)})" for c in self.world.global_commands
            ] + [
                f"{c['name']} (type {c.get('type', 1)}, guild {gid})"
                for gid, cmds in self.world.guild_commands.items()
                for c in cmds
            ]
            raise CommandNotSyncedError(
                f"{kind} {name!r} was never synced "
                f"{'globally or to guild ' + guild_id if guild_id else 'globally'}; "
                f"synced commands: {synced or 'none'}"
            )
        required = command.get("default_member_permissions")
        if (
            required is not None
            and not perms & Permission.ADMINISTRATOR
            and (perms & int(required)) != int(required)
        ):
            raise FakeDiscordError(
                f"{kind} {name!r} needs permissions {required}; the user has {perms}, "
                "so Discord would not show it"
            )
        if in_dm:
            contexts = command.get("contexts")
            if (
                command.get("guild_id") is not None
                or command.get("dm_permission") is False
                or (contexts is not None and 1 not in contexts)
            ):
                raise FakeDiscordError(f"{kind} {name!r} is not available in DMs")
        return command

    # ------------------------------------------------------------------ payloads

    def chat_input(
        self,
        name: str,
        options: Mapping[str, Any] | None,
        *,
        user: Mapping[str, Any],
        channel_id: str,
        member_permissions: int | None = None,
        locale: str = "en-US",
        focused: str | None = None,
    ) -> dict[str, Any]:
        """INTERACTION_CREATE type 2 (or 4 with ``focused``) for slash command ``name``.

        ``name`` may contain subcommands separated by spaces (``"quote search"``).
        """
        payload = self._context(
            user=user, channel_id=channel_id, member_permissions=member_permissions, locale=locale
        )
        guild_id = payload.get("guild_id")
        perms = payload.pop("_member_permissions")
        parts = name.split()
        command = self._command(parts[0], CHAT_INPUT, guild_id, perms, guild_id is None)
        resolved: dict[str, dict] = {}
        definitions = list(command.get("options") or [])
        chain: list[tuple[str, int]] = []
        for sub in parts[1:]:
            match = next(
                (
                    d
                    for d in definitions
                    if d["name"] == sub and int(d["type"]) in (SUB_COMMAND, SUB_COMMAND_GROUP)
                ),
                None,
            )
            if match is None:
                raise CommandNotSyncedError(f"{name!r}: {sub!r} is not a synced subcommand")
            chain.append((sub, int(match["type"])))
            definitions = list(match.get("options") or [])
        if any(int(d["type"]) in (SUB_COMMAND, SUB_COMMAND_GROUP) for d in definitions):
            raise FakeDiscordError(f"{name!r} needs a subcommand")
        built = build_options(self.world, definitions, options or {}, resolved, guild_id, focused)
        for sub, kind in reversed(chain):
            built = [{"name": sub, "type": kind, "options": built}]
        data: dict[str, Any] = {
            "id": command["id"],
            "name": command["name"],
            "type": CHAT_INPUT,
            "options": built,
        }
        if resolved:
            data["resolved"] = resolved
        if command.get("guild_id") is not None:
            data["guild_id"] = command["guild_id"]
        payload["type"] = AUTOCOMPLETE if focused is not None else APPLICATION_COMMAND
        payload["data"] = data
        return payload

    def context_menu(
        self,
        name: str,
        command_type: int,
        target: Mapping[str, Any],
        *,
        user: Mapping[str, Any],
        channel_id: str,
        member_permissions: int | None = None,
        locale: str = "en-US",
    ) -> dict[str, Any]:
        """INTERACTION_CREATE for a user (type 2) or message (type 3) context-menu command."""
        payload = self._context(
            user=user, channel_id=channel_id, member_permissions=member_permissions, locale=locale
        )
        guild_id = payload.get("guild_id")
        perms = payload.pop("_member_permissions")
        command = self._command(name, command_type, guild_id, perms, guild_id is None)
        resolved: dict[str, dict] = {}
        if command_type == MESSAGE_COMMAND:
            message = self.world.wire_message(target)
            resolved["messages"] = {message["id"]: message}
            target_id = message["id"]
        else:
            target_user = self.world.user(target)
            resolved["users"] = {target_user["id"]: copy.deepcopy(target_user)}
            if guild_id is not None and target_user["id"] in self.world.members[guild_id]:
                member = self.world.member_payload(guild_id, target_user["id"])
                member.pop("user")
                resolved["members"] = {target_user["id"]: member}
            target_id = target_user["id"]
        data: dict[str, Any] = {
            "id": command["id"],
            "name": command["name"],
            "type": command_type,
            "target_id": target_id,
            "resolved": resolved,
        }
        if command.get("guild_id") is not None:
            data["guild_id"] = command["guild_id"]
        payload["type"] = APPLICATION_COMMAND
        payload["data"] = data
        return payload

    def component(
        self,
        message: Mapping[str, Any],
        custom_id: str,
        *,
        user: Mapping[str, Any],
        values: list[str] | None = None,
        member_permissions: int | None = None,
        locale: str = "en-US",
    ) -> dict[str, Any]:
        """INTERACTION_CREATE type 3 for clicking ``custom_id`` on ``message``."""
        component = find_component(message.get("components") or [], custom_id)
        if component is None:
            raise FakeDiscordError(
                f"message {message['id']} has no component with custom_id {custom_id!r}"
            )
        if component.get("disabled"):
            raise FakeDiscordError(f"component {custom_id!r} is disabled")
        payload = self._context(
            user=user,
            channel_id=message["channel_id"],
            member_permissions=member_permissions,
            locale=locale,
        )
        payload.pop("_member_permissions")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": int(component["type"])}
        if "id" in component:
            data["id"] = component["id"]
        if int(component["type"]) != 2:
            data["values"] = list(values or [])
        elif values:
            raise FakeDiscordError("buttons do not take values")
        payload["type"] = MESSAGE_COMPONENT
        payload["data"] = data
        payload["message"] = self.world.wire_message(message)
        return payload


def is_dm_channel(channel: Mapping[str, Any]) -> bool:
    """Whether ``channel`` is a DM channel."""
    return int(channel["type"]) == ChannelType.DM
