"""Ids, message flags and Discord's JSON errors, shared by the fake's world, REST API and
interactions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

IdLike = int | str | Mapping[str, Any]

ALL_PERMISSIONS = (1 << 51) - 1
EPHEMERAL = 1 << 6
LOADING = 1 << 7
SUPPRESS_EMBEDS = 1 << 2
IS_COMPONENTS_V2 = 1 << 15

#: Message keys the fake keeps for tests but never sends over the wire.
TEST_ONLY_KEYS = frozenset({"allowed_mentions"})


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


def form_error(path: str, code: str, message: str) -> ApiError:
    """Build a 50035 Invalid Form Body error for a dotted field ``path``."""
    errors: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(path.split(".")):
        errors = {part: errors}
    return ApiError(400, 50035, "Invalid Form Body", errors)


def unknown(what: str, code: int) -> ApiError:
    """A 404 ``Unknown <what>`` error."""
    return ApiError(404, code, f"Unknown {what}")
