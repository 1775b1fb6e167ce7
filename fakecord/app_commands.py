"""Application commands in the world (mixed into :class:`~fakecord.world.World`): syncing,
validating and looking up slash and context-menu commands the way Discord does."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .builders import (
    snowflake,
)
from .wire import (
    ApiError,
    IdLike,
    form_error,
    unknown,
)

if TYPE_CHECKING:
    from .world import World


_COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")


def _permissions_string(value: Any) -> str | None:
    """Discord answers permission bitsets as strings, whatever number type it was sent."""
    return None if value is None else str(int(value))


def _validate_options(options: list[Mapping[str, Any]], path: str) -> None:
    if len(options) > 25:
        raise form_error(path, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    seen_optional = False
    for i, option in enumerate(options):
        name = option.get("name", "")
        description = option.get("description", "")
        if not _COMMAND_NAME.match(str(name)) or name != str(name).lower():
            raise form_error(
                f"{path}.{i}.name", "APPLICATION_COMMAND_INVALID_NAME", "Option name is invalid"
            )
        if not 1 <= len(description) <= 100:
            raise form_error(
                f"{path}.{i}.description",
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            )
        if len(option.get("choices") or []) > 25:
            raise form_error(
                f"{path}.{i}.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
            )
        if int(option.get("type", 0)) in (1, 2):
            _validate_options(list(option.get("options") or []), f"{path}.{i}.options")
            continue
        if option.get("required"):
            if seen_optional:
                raise form_error(
                    f"{path}.{i}",
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            seen_optional = True


class AppCommands:
    """The bot's synced commands, global and per guild."""

    def commands_for(self: World, guild: IdLike | None) -> list[dict[str, Any]]:
        """The synced commands of ``guild`` (``None``: the global ones)."""
        if guild is None:
            return self.global_commands
        return self.guild_commands.setdefault(self._guild_id(guild), [])

    def find_command(
        self: World, name: str, command_type: int, guild: IdLike | None
    ) -> dict | None:
        """The synced command visible in ``guild`` (guild commands first, then global)."""
        scopes = ([self.commands_for(guild)] if guild is not None else []) + [self.global_commands]
        for scope in scopes:
            for command in scope:
                if command["name"] == name and int(command.get("type", 1)) == command_type:
                    return command
        return None

    def _normalize_command(
        self: World,
        body: Mapping[str, Any],
        guild_id: str | None,
        existing: list[dict[str, Any]],
        index: int,
    ) -> dict[str, Any]:
        command_type = int(body.get("type") or 1)
        name = body.get("name")
        prefix = str(index)
        if not isinstance(name, str) or not 1 <= len(name) <= 32:
            raise form_error(
                f"{prefix}.name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length."
            )
        description = body.get("description") or ""
        if command_type == 1:
            if not _COMMAND_NAME.match(name) or name != name.lower():
                raise form_error(
                    f"{prefix}.name",
                    "APPLICATION_COMMAND_INVALID_NAME",
                    "Command name is invalid",
                )
            if not 1 <= len(description) <= 100:
                raise form_error(
                    f"{prefix}.description",
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                )
            _validate_options(list(body.get("options") or []), f"{prefix}.options")
        elif description:
            raise form_error(
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

    def sync_commands(
        self: World, guild: IdLike | None, bodies: list[Mapping[str, Any]]
    ) -> list[dict]:
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
                raise form_error(
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

    def upsert_command(
        self: World, guild: IdLike | None, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Create or replace one command (``POST .../commands``)."""
        guild_id = None if guild is None else self._guild_id(guild)
        existing = self.commands_for(guild_id)
        command = self._normalize_command(body, guild_id, existing, 0)
        existing[:] = [c for c in existing if c["id"] != command["id"]] + [command]
        self.sync_log.append((guild_id, [command["name"]]))
        return copy.deepcopy(command)

    def get_command(self: World, guild: IdLike | None, command_id: str) -> dict[str, Any]:
        """One command by id (404 ``Unknown application command`` otherwise)."""
        for command in self.commands_for(guild):
            if command["id"] == command_id:
                return command
        raise unknown("application command", 10063)
