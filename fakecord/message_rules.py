"""Discord's rules for a message body (lengths, embeds, components) and reading components."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .wire import (
    IS_COMPONENTS_V2,
    ApiError,
    form_error,
)

#: What a button of each style must carry: an id to click, a URL to open, a SKU to buy.
_BUTTON_NEEDS = {
    1: "custom_id",
    2: "custom_id",
    3: "custom_id",
    4: "custom_id",
    5: "url",
    6: "sku_id",
}


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
        raise form_error("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        raise form_error("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    limits = {"title": 256, "description": 4096}
    for i, embed in enumerate(embeds):
        for key, limit in limits.items():
            if len(embed.get(key) or "") > limit:
                raise form_error(
                    f"embeds.{i}.{key}",
                    "BASE_TYPE_MAX_LENGTH",
                    f"Must be {limit} or fewer in length.",
                )
        fields = embed.get("fields") or []
        if len(fields) > 25:
            raise form_error(
                f"embeds.{i}.fields", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
            )
        for j, field in enumerate(fields):
            for key, limit in (("name", 256), ("value", 1024)):
                value = field.get(key)
                if value is None or not str(value).strip():
                    raise form_error(
                        f"embeds.{i}.fields.{j}.{key}",
                        "BASE_TYPE_REQUIRED",
                        "This field is required",
                    )
                if len(str(value)) > limit:
                    raise form_error(
                        f"embeds.{i}.fields.{j}.{key}",
                        "BASE_TYPE_MAX_LENGTH",
                        f"Must be {limit} or fewer in length.",
                    )
        if len((embed.get("footer") or {}).get("text") or "") > 2048:
            raise form_error(
                f"embeds.{i}.footer.text",
                "BASE_TYPE_MAX_LENGTH",
                "Must be 2048 or fewer in length.",
            )
        if len((embed.get("author") or {}).get("name") or "") > 256:
            raise form_error(
                f"embeds.{i}.author.name", "BASE_TYPE_MAX_LENGTH", "Must be 256 or fewer in length."
            )
    if sum(_embed_text_length(e) for e in embeds) > 6000:
        raise form_error(
            "embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"
        )
    allowed = body.get("allowed_mentions")
    if isinstance(allowed, Mapping):
        parse = set(allowed.get("parse") or [])
        for kind in ("users", "roles"):
            if kind in parse and allowed.get(kind):
                raise form_error(
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
                raise form_error(
                    f"{path}.{k}.{needed}", "BASE_TYPE_REQUIRED", "This field is required"
                )
            if custom_id is not None:
                if len(str(custom_id)) > 100:
                    raise form_error(
                        f"{path}.{k}.custom_id",
                        "BASE_TYPE_MAX_LENGTH",
                        "Must be 100 or fewer in length.",
                    )
                if custom_id in custom_ids:
                    raise form_error(
                        f"{path}.{k}.custom_id",
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated",
                    )
                custom_ids.add(str(custom_id))
            if len(str(item.get("label") or "")) > 80:
                raise form_error(
                    f"{path}.{k}.label", "BASE_TYPE_MAX_LENGTH", "Must be 80 or fewer in length."
                )
            children = item.get("components")
            if children:
                if int(item.get("type", 0)) == 1 and len(children) > 5:
                    raise form_error(
                        f"{path}.{k}.components",
                        "BASE_TYPE_MAX_LENGTH",
                        "Must be 5 or fewer in length.",
                    )
                walk(children, f"{path}.{k}.components")

    if not flags & IS_COMPONENTS_V2 and len(components) > 5:
        raise form_error("components", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
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
