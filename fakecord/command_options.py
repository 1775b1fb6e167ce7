"""Slash command options as a Discord client sends them: each value checked against its
definition (types, lengths, ranges, choices, required, autocomplete), with the users, members,
roles, channels and attachments it names resolved."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from .flags import DEFAULT_MEMBER_PERMISSIONS
from .records import FakeDiscordError
from .wire import to_id
from .world import World

# Option types
SUB_COMMAND, SUB_COMMAND_GROUP, STRING, INTEGER, BOOLEAN = 1, 2, 3, 4, 5
USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = 6, 7, 8, 9, 10, 11


def option_value(
    world: World,
    option: Mapping[str, Any],
    value: Any,
    resolved: dict[str, dict],
    guild_id: str | None,
) -> Any:
    """``value`` of ``option`` as Discord sends it, checked; users, roles, channels and
    attachments it names are added to ``resolved``."""
    kind = int(option["type"])
    name = option["name"]
    if kind == STRING:
        value = str(value)
        if option.get("min_length") is not None and len(value) < int(option["min_length"]):
            raise FakeDiscordError(f"option {name!r} is shorter than min_length")
        if option.get("max_length") is not None and len(value) > int(option["max_length"]):
            raise FakeDiscordError(f"option {name!r} is longer than max_length")
    elif kind == INTEGER:
        if isinstance(value, bool) or int(value) != value:
            raise FakeDiscordError(f"option {name!r} needs an integer, got {value!r}")
        value = int(value)
    elif kind == NUMBER:
        value = float(value)
    elif kind == BOOLEAN:
        if not isinstance(value, bool):
            raise FakeDiscordError(f"option {name!r} needs a bool, got {value!r}")
    elif kind in (USER, MENTIONABLE) and _looks_like_user(value, world):
        user = world.user(value)
        resolved.setdefault("users", {})[user["id"]] = copy.deepcopy(user)
        if guild_id is not None and user["id"] in world.members[guild_id]:
            member = world.member_payload(
                guild_id,
                user["id"],
                permissions=world.compute_permissions(guild_id, user["id"]),
            )
            member.pop("user")
            resolved.setdefault("members", {})[user["id"]] = member
        value = user["id"]
    elif kind in (ROLE, MENTIONABLE):
        rid = to_id(value)
        roles = {r["id"]: r for r in world.guild(guild_id or "")["roles"]} if guild_id else {}
        if rid not in roles:
            raise FakeDiscordError(f"option {name!r}: unknown role {value!r}")
        resolved.setdefault("roles", {})[rid] = copy.deepcopy(roles[rid])
        value = rid
    elif kind == CHANNEL:
        channel = world.channel(value)
        partial = {
            k: copy.deepcopy(channel[k])
            for k in ("id", "name", "type", "parent_id", "thread_metadata", "guild_id")
            if k in channel
        }
        partial["permissions"] = str(int(DEFAULT_MEMBER_PERMISSIONS))
        resolved.setdefault("channels", {})[channel["id"]] = partial
        value = channel["id"]
    elif kind == ATTACHMENT:
        filename, data, content_type = _attachment_spec(value)
        attachment = world.build_attachments(
            "ephemeral-attachments", [{"id": 0}], {0: (filename, content_type, data)}
        )[0]
        attachment["ephemeral"] = True
        resolved.setdefault("attachments", {})[attachment["id"]] = attachment
        value = attachment["id"]
    if kind in (INTEGER, NUMBER):
        if option.get("min_value") is not None and value < option["min_value"]:
            raise FakeDiscordError(f"option {name!r} is below min_value")
        if option.get("max_value") is not None and value > option["max_value"]:
            raise FakeDiscordError(f"option {name!r} is above max_value")
    choices = option.get("choices")
    if choices and value not in [c["value"] for c in choices]:
        raise FakeDiscordError(
            f"option {name!r}: {value!r} is not one of the choices {[c['value'] for c in choices]}"
        )
    return value


def build_options(
    world: World,
    definitions: list[Mapping[str, Any]],
    values: Mapping[str, Any],
    resolved: dict[str, dict],
    guild_id: str | None,
    focused: str | None,
) -> list[dict[str, Any]]:
    """The ``options`` of an interaction for ``values`` against the command's ``definitions``
    (``focused``: the option being autocompleted)."""
    by_name = {d["name"]: d for d in definitions}
    unknown_names = set(values) - set(by_name)
    if unknown_names:
        raise FakeDiscordError(
            f"unknown option(s) {sorted(unknown_names)}; the command has {sorted(by_name)}"
        )
    out = []
    for definition in definitions:
        name = definition["name"]
        if name not in values:
            if definition.get("required") and focused is None:
                raise FakeDiscordError(f"required option {name!r} is missing")
            continue
        if focused is not None:
            value = values[name]
            if name == focused:
                out.append(
                    {
                        "name": name,
                        "type": int(definition["type"]),
                        "value": str(value),
                        "focused": True,
                    }
                )
                continue
        value = option_value(world, definition, values[name], resolved, guild_id)
        out.append({"name": name, "type": int(definition["type"]), "value": value})
    if focused is not None and focused not in values:
        raise FakeDiscordError(f"focused option {focused!r} has no value")
    if focused is not None and not by_name[focused].get("autocomplete"):
        raise FakeDiscordError(f"option {focused!r} does not have autocomplete enabled")
    return out


def _looks_like_user(value: Any, world: World) -> bool:
    if isinstance(value, Mapping):
        return "username" in value
    return to_id(value) in world.users


def _attachment_spec(value: Any) -> tuple[str, bytes, str]:
    """Accept ``{"filename", "data", "content_type"?}`` or ``(filename, data)``."""
    if isinstance(value, Mapping):
        return str(value["filename"]), bytes(value["data"]), str(value.get("content_type", ""))
    filename, data = value
    return str(filename), bytes(data), ""
