"""The fake's traffic held to Discord's OpenAPI spec (see :mod:`fakecord.openapi`).

:class:`SpecChecker` checks every request the bot sends (JSON body, the ``payload_json`` part
of a multipart body, query parameters) against its operation's request schema, and every JSON
reply and gateway object the fake sends that REST also describes against the response
schemas. It records each :class:`Violation`; :class:`~fakecord.server.FakeDiscord` refuses a
request that has one (``400 Invalid Form Body``, as Discord does) and fails the test when it
stops with any left. Query strings are decoded first (booleans as ``true``/``false``/``1``/
``0``, as Discord reads them). What the spec gets wrong about what Discord accepts is in
:data:`ALLOWED`, each with its reason.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from .openapi import discord_spec

log = logging.getLogger(__name__)

_QUERY_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
_EXCERPT_CHARS = 240
_IDENTIFIER = re.compile(r"[a-zA-Z][a-zA-Z0-9_]*")


@dataclasses.dataclass(frozen=True)
class Violation:
    """One place where a payload disagrees with the spec.

    ``culprit`` is ``"bot"`` (a request it sent: fix the bot) or ``"fake"`` (a reply or
    dispatch: fix the fake); ``where`` names the operation or event and the part checked.
    """

    culprit: str
    where: str
    json_path: str
    message: str
    keyword: str
    excerpt: str
    location: tuple[str | int, ...] = dataclasses.field(default=(), compare=False, repr=False)

    def __str__(self) -> str:
        who = "the bot sent" if self.culprit == "bot" else "the fake sent"
        text = f"{who} {self.where} at {self.json_path}: {self.message}"
        return f"{text}; payload: {self.excerpt}" if self.excerpt else text


@dataclasses.dataclass(frozen=True)
class Allowance:
    """A known gap between the spec and what Discord accepts: violations of ``keyword`` at a
    JSON path matching ``json_path`` (regex) in a ``where`` matching the glob are ignored."""

    where: str
    json_path: str
    keyword: str
    reason: str

    def covers(self, violation: Violation) -> bool:
        """Whether this allowance excuses ``violation``."""
        return (
            violation.keyword == self.keyword
            and fnmatch.fnmatchcase(violation.where, self.where)
            and re.fullmatch(self.json_path, violation.json_path) is not None
        )


#: Spec quirks: what the spec forbids but Discord accepts (and discord.py relies on).
ALLOWED: tuple[Allowance, ...] = (
    Allowance(
        where="request * body",
        json_path=r"\$\.message_reference\.(message|channel|guild)_id",
        keyword="type",
        reason="discord.py sends message_reference ids as JSON integers; Discord parses a "
        "snowflake from an integer or a string, the spec only writes the string form",
    ),
    Allowance(
        where="request * body",
        json_path=r"\$(\.data)?\.attachments\[\d+\]\.id",
        keyword="type",
        reason="a new upload is named by its files[N] index, which discord.py sends as a JSON "
        "integer; Discord's docs allow the index, the spec types every attachment id as a "
        "snowflake string",
    ),
    Allowance(
        where="reply 4* to *",
        json_path=r"\$\.errors.*\['_errors'\]\[\d+\]\.code",
        keyword="type",
        reason="Discord's per-field errors carry string codes (BASE_TYPE_REQUIRED...); the spec "
        "reuses its top-level Error object, whose code is an integer",
    ),
)


def _excerpt(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _EXCERPT_CHARS else text[: _EXCERPT_CHARS - 1] + "…"


# Gateway events whose objects REST also describes: (path in the event, schema). A path
# ending in [] checks every item of that list, {} every value of that map.
_CHANNEL = "channel"
_DISPATCHED: Mapping[str, tuple[tuple[str, str], ...]] = {
    "READY": (("user", "UserPIIResponse"),),
    "GUILD_CREATE": (
        ("", "GuildResponse"),  # its roles too
        ("channels[]", _CHANNEL),
        ("threads[]", "ThreadResponse"),
        ("members[]", "GuildMemberResponse"),
    ),
    "GUILD_MEMBERS_CHUNK": (("members[]", "GuildMemberResponse"),),
    "MESSAGE_CREATE": (("", "MessageResponse"),),
    "MESSAGE_UPDATE": (("", "MessageResponse"),),
    "THREAD_CREATE": (("", "ThreadResponse"),),
    "INTERACTION_CREATE": (
        ("type", "InteractionTypes"),
        ("context", "InteractionContextType"),
        ("locale", "AvailableLocalesEnum"),
        ("guild_locale", "AvailableLocalesEnum"),
        ("user", "UserResponse"),
        ("member", "GuildMemberResponse"),
        ("channel", _CHANNEL),
        ("message", "MessageResponse"),
        ("entitlements[]", "EntitlementResponse"),
        ("data.resolved", "ResolvedObjectsResponse"),
        ("data.resolved.messages{}", "MessageResponse"),
        ("data.resolved.attachments{}", "AttachmentResponse"),
    ),
}
#: Every channel a REST reply can carry (the union of ``GET /channels/{channel_id}``).
_CHANNEL_POINTER = (
    "/paths/~1channels~1{channel_id}/get/responses/200/content/application~1json/schema"
)


def _select(data: Any, path: str) -> list[tuple[tuple[str | int, ...], Any]]:
    """The parts of ``data`` at ``path`` (``a.b``, ``a[]``, ``a{}``) with their location."""
    found: list[tuple[tuple[str | int, ...], Any]] = [((), data)]
    for token in path.split(".") if path else []:
        name = token.rstrip("[]{}")
        step: list[tuple[tuple[str | int, ...], Any]] = []
        for where, value in found:
            child = value.get(name) if isinstance(value, Mapping) else None
            if token.endswith("[]") and isinstance(child, list):
                step += [((*where, name, i), item) for i, item in enumerate(child)]
            elif token.endswith("{}") and isinstance(child, Mapping):
                step += [((*where, name, key), item) for key, item in child.items()]
            elif token == name and child is not None:
                step.append(((*where, name), child))
        found = step
    return found


def _json_path(location: tuple[str | int, ...]) -> str:
    """``$.embeds[0].fields[0]``, written like jsonschema writes paths."""
    parts = ["$"]
    for key in location:
        if isinstance(key, int):
            parts.append(f"[{key}]")
        else:
            parts.append(f".{key}" if _IDENTIFIER.fullmatch(key) else f"[{key!r}]")
    return "".join(parts)


def _decode_query(value: str, schema: Mapping[str, Any]) -> Any:
    if schema.get("type") == "boolean":
        return _QUERY_BOOLEANS.get(value.lower(), value)
    return value


#: Discord's field error codes for the schema keywords that have one.
_FORM_CODES = {
    "required": "BASE_TYPE_REQUIRED",
    "maxLength": "BASE_TYPE_MAX_LENGTH",
    "maxItems": "BASE_TYPE_MAX_LENGTH",
    "minLength": "BASE_TYPE_MIN_LENGTH",
    "minItems": "BASE_TYPE_MIN_LENGTH",
    "enum": "BASE_TYPE_CHOICES",
    "const": "BASE_TYPE_CHOICES",
}


def invalid_form_body(violations: list[Violation]) -> dict[str, Any]:
    """Discord's ``400 Invalid Form Body`` (code 50035) naming each field of ``violations``."""
    errors: dict[str, Any] = {}
    for violation in violations:
        node = errors
        for key in violation.location:
            node = node.setdefault(str(key), {})
        code = _FORM_CODES.get(violation.keyword, "BASE_TYPE_INVALID")
        node.setdefault("_errors", []).append({"code": code, "message": violation.message})
    return {"message": "Invalid Form Body", "code": 50035, "errors": errors}


class SpecChecker:
    """Checks one fake's traffic and keeps the :attr:`violations` it finds."""

    def __init__(self, allowed: tuple[Allowance, ...] = ALLOWED) -> None:
        self.spec = discord_spec()
        self.allowed = allowed
        self.violations: list[Violation] = []
        self._seen: set[Violation] = set()

    def take(self) -> list[Violation]:
        """Return the violations found so far and forget them."""
        found, self.violations = self.violations, []
        return found

    def _record(self, violation: Violation) -> bool:
        """Keep ``violation`` unless it is allowed; whether it counts."""
        if any(allowance.covers(violation) for allowance in self.allowed):
            return False
        if violation not in self._seen:
            self._seen.add(violation)
            self.violations.append(violation)
            log.error("Discord's spec disagrees: %s", violation)
        return True

    def _check(
        self,
        culprit: str,
        where: str,
        pointer: str,
        instance: Any,
        at: tuple[str | int, ...] = (),
    ) -> list[Violation]:
        found = []
        for problem in self.spec.problems(pointer, instance):
            message = problem.message
            violation = Violation(
                culprit=culprit,
                where=where,
                json_path=_json_path(at + problem.location),
                message=message if len(message) <= 200 else message[:199] + "…",
                keyword=problem.keyword,
                excerpt=_excerpt(problem.instance),
                location=at + problem.location,
            )
            if self._record(violation):
                found.append(violation)
        return found

    def check_request(
        self, method: str, path: str, query: Mapping[str, str], body: Any, has_body: bool
    ) -> list[Violation]:
        """Check a request of the bot: its query parameters and its JSON body.

        Returns what Discord would refuse it for (unknown paths and query parameters are
        recorded, but Discord answers 404 or ignores them).
        """
        op = self.spec.operation(method, path)
        if op is None:
            message = "no operation of Discord's API has this method and path"
            self._record(Violation("bot", f"request {method} {path}", "$", message, "path", ""))
            return []
        name = f"{op.method} {op.template} ({op.operation_id})"
        refused = []
        for key, value in query.items():
            pointer = op.query.get(key)
            if pointer is None:
                message = f"{op.operation_id} takes no query parameter {key!r}"
                where = f"request {name} query"
                self._record(Violation("bot", where, f"$.{key}", message, "query", value))
                continue
            _, schema = self.spec.follow(pointer)
            value = _decode_query(value, schema)
            refused += self._check("bot", f"request {name} query", pointer, value, at=(key,))
        if op.body is not None and (has_body or op.body_required):
            refused += self._check("bot", f"request {name} body", op.body, body)
        return refused

    def check_reply(self, method: str, path: str, status: int, body: Any) -> None:
        """Check a reply of the fake (5xx are crashes, reported elsewhere)."""
        op = self.spec.operation(method, path)
        if op is None or status >= 500:
            return
        where = f"reply {status} to {op.method} {op.template} ({op.operation_id})"
        documented, pointer = op.response_schema(status)
        if not documented:
            message = f"{op.operation_id} never answers {status}"
            self._record(Violation("fake", where, "$", message, "status", _excerpt(body)))
        elif pointer is not None:
            self._check("fake", where, pointer, body)

    def check_dispatch(self, event: str, data: Any) -> None:
        """Check the parts of a gateway event that REST also describes."""
        for path, schema in _DISPATCHED.get(event, ()):
            pointer = _CHANNEL_POINTER if schema == _CHANNEL else self.spec.schema_pointer(schema)
            for at, part in _select(data, path):
                self._check("fake", f"dispatch {event} ({schema})", pointer, part, at)


def spec_report(violations: list[Violation]) -> str:
    lines = "\n".join(f"  - {v}" for v in violations)
    return (
        f"Discord's OpenAPI spec rejects {len(violations)} payload(s) (fix the side named; a "
        f"known spec quirk goes in fakecord.spec_check.ALLOWED with its reason):\n{lines}"
    )
