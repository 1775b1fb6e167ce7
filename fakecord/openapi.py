"""Discord's official OpenAPI spec (API v10) as the referee of the fake's traffic.

:class:`SpecChecker` checks every request the bot sends (JSON body, the ``payload_json`` part
of a multipart body, query parameters) against its operation's request schema, and every JSON
reply and gateway object the fake sends that REST also describes against the response
schemas. It records each :class:`Violation`; :class:`~fakecord.server.FakeDiscord` refuses
a request that has one (``400 Invalid Form Body``, as Discord does) and fails the test when it
stops with any left.

The spec is read the way Discord means it:

- an int-parseable string passes where the spec says ``integer`` (Discord's own convention:
  64-bit numbers travel as strings; snowflakes are written as ``format: snowflake`` strings);
- ``oneOf`` is read as ``anyOf``: the spec's unions overlap (a nonce ``"12"`` is both its
  integer and its string form, a partial object fits several shapes) and Discord takes the
  first that fits, telling components and callbacks apart by ``type``;
- query strings are decoded first: booleans as ``true``/``false``/``1``/``0``.

What the spec gets wrong about what Discord accepts is in :data:`ALLOWED`, each with its reason.
``discord-openapi.json`` is Discord's published OpenAPI 3.1 spec of API v10 (MIT, see
``discord-openapi.LICENSE``); it is parsed once per process and each schema's validator is
compiled once.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import json
import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

log = logging.getLogger(__name__)

SPEC_FILE = Path(__file__).with_name("discord-openapi.json")
_SPEC_URI = "urn:discord-api-spec:v10"
_HTTP_METHODS = ("get", "put", "post", "patch", "delete")
_INT = re.compile(r"-?[0-9]+")
_QUERY_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
_EXCERPT_CHARS = 240
_UNIONS = ("anyOf", "oneOf")
_IDENTIFIER = re.compile(r"[a-zA-Z][a-zA-Z0-9_]*")


def _is_integer(checker: Any, instance: object) -> bool:
    if isinstance(instance, str):
        return _INT.fullmatch(instance) is not None
    return bool(Draft202012Validator.TYPE_CHECKER.is_type(instance, "integer"))


_Validator = validators.extend(
    Draft202012Validator,
    validators={"oneOf": Draft202012Validator.VALIDATORS["anyOf"]},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


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


@dataclasses.dataclass(frozen=True)
class Operation:
    """One REST operation: where its request and response schemas are in the spec.

    Schemas are JSON pointers into the spec (``None``: no body). ``responses`` is keyed like
    the spec (``"200"``, ``"4XX"``); ``query`` maps a parameter to its schema pointer.
    """

    operation_id: str
    method: str
    template: str
    pattern: re.Pattern[str]
    body: str | None
    body_required: bool
    query: Mapping[str, str]
    responses: Mapping[str, str | None]

    def response_schema(self, status: int) -> tuple[bool, str | None]:
        """``(documented, schema pointer)`` for a reply with ``status``."""
        for key in (str(status), f"{status // 100}XX", "default"):
            if key in self.responses:
                return True, self.responses[key]
        return False, None


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _template_pattern(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)))


class Spec:
    """The parsed spec: operations by path, and validators compiled once per schema."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(_SPEC_URI, resource)
        operations = list(self._operations())
        # A literal segment wins over a placeholder (/users/@me before /users/{user_id}).
        operations.sort(key=lambda op: op.template.count("{"))
        self.operations = operations
        self._validators: dict[str, Any] = {}

    def node(self, pointer: str) -> Any:
        """The object at JSON ``pointer`` (``/components/schemas/MessageResponse``)."""
        target: Any = self.document
        for token in pointer.strip("/").split("/"):
            key = token.replace("~1", "/").replace("~0", "~")
            target = target[int(key)] if isinstance(target, list) else target[key]
        return target

    def follow(self, pointer: str) -> tuple[str, Mapping[str, Any]]:
        """Follow a non-schema ``$ref`` (responses, parameters) to ``(pointer, object)``."""
        node = self.node(pointer)
        ref = node.get("$ref")
        return (pointer, node) if ref is None else self.follow(ref.removeprefix("#"))

    def _operations(self) -> Iterator[Operation]:
        for template, item in self.document["paths"].items():
            base = f"/paths/{_escape(template)}"
            shared = list(item.get("parameters") or [])
            for method in _HTTP_METHODS:
                op = item.get(method)
                if op is None:
                    continue
                here = f"{base}/{method}"
                query = {}
                parameters = [f"{base}/parameters/{i}" for i in range(len(shared))]
                parameters += [
                    f"{here}/parameters/{i}" for i in range(len(op.get("parameters") or []))
                ]
                for pointer, parameter in map(self.follow, parameters):
                    if parameter.get("in") == "query":
                        query[parameter["name"]] = f"{pointer}/schema"
                body = None
                request = op.get("requestBody") or {}
                for content_type in ("application/json", "multipart/form-data"):
                    if content_type in request.get("content", {}):
                        body = f"{here}/requestBody/content/{_escape(content_type)}/schema"
                        break
                responses: dict[str, str | None] = {}
                for status in op.get("responses", {}):
                    pointer, response = self.follow(f"{here}/responses/{status}")
                    has_json = "application/json" in response.get("content", {})
                    responses[status] = (
                        f"{pointer}/content/application~1json/schema" if has_json else None
                    )
                yield Operation(
                    operation_id=op.get("operationId", f"{method} {template}"),
                    method=method.upper(),
                    template=template,
                    pattern=_template_pattern(template),
                    body=body,
                    body_required=bool(request.get("required")),
                    query=query,
                    responses=responses,
                )

    def operation(self, method: str, path: str) -> Operation | None:
        """The operation serving ``method path`` (``path`` relative to ``/api/v10``)."""
        for op in self.operations:
            if op.method == method and op.pattern.fullmatch(path):
                return op
        return None

    def schema_pointer(self, name: str) -> str:
        """The pointer of component schema ``name`` (``MessageResponse``...)."""
        if name not in self.document["components"]["schemas"]:
            raise KeyError(f"the spec has no component schema {name!r}")
        return f"/components/schemas/{name}"

    def problems(self, pointer: str, instance: Any) -> list[Problem]:
        """What is wrong with ``instance`` against the schema at ``pointer``, innermost first."""
        validator = self._validators.get(pointer)
        if validator is None:
            schema = {"$ref": f"{_SPEC_URI}#{pointer}"}
            validator = self._validators[pointer] = _Validator(schema, registry=self.registry)
        return [found for error in validator.iter_errors(instance) for found in _innermost(error)]


@dataclasses.dataclass(frozen=True)
class Problem:
    """One schema error: where, what, the failing keyword and the offending value."""

    location: tuple[str | int, ...]
    message: str
    keyword: str
    instance: Any

    @classmethod
    def of(cls, error: ValidationError, message: str = "", keyword: str = "") -> Problem:
        """The problem ``error`` reports (optionally said differently)."""
        return cls(
            location=tuple(error.absolute_path),
            message=message or error.message,
            keyword=keyword or str(error.validator),
            instance=error.instance,
        )


def _innermost(error: ValidationError) -> list[Problem]:
    """Descend a union error into the branch the instance was meant for.

    A branch is ruled out when the instance is not of its type or fails its ``type``
    discriminator (a button checked against the select menu schema); of the rest, the one
    with the fewest errors is the one the payload was written for.
    """
    if error.validator not in _UNIONS or not error.context:
        return [Problem.of(error)]
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    plausible = [errs for errs in branches.values() if not any(map(_wrong_branch, errs))]
    if plausible:
        # Fewest errors, then the deepest: the branch the payload got furthest into.
        best = min(plausible, key=lambda errs: (len(errs), -max(len(e.path) for e in errs)))
        return [found for sub in best for found in _innermost(sub)]
    types = _root_types(error)
    if types:
        message = f"{error.instance!r} is not of type {' or '.join(map(repr, types))}"
        return [Problem.of(error, message, "type")]
    return [Problem.of(error)]


def _wrong_branch(error: ValidationError) -> bool:
    path = list(error.relative_path)
    if not path:
        return error.validator == "type" or (
            error.validator in _UNIONS and all(map(_wrong_branch, error.context))
        )
    return path == ["type"] and error.validator in ("enum", "const")


def _root_types(error: ValidationError) -> list[str]:
    """The types a union allows, if the instance failed every branch by its type alone."""
    types: list[str] = []
    for sub in error.context:
        if sub.relative_path:
            return []
        if sub.validator == "type":
            value = sub.validator_value
            types += [value] if isinstance(value, str) else list(value)
        elif sub.validator in _UNIONS and (nested := _root_types(sub)):
            types += nested
        else:
            return []
    return list(dict.fromkeys(types))


@functools.cache
def discord_spec() -> Spec:
    """The spec, parsed once per process."""
    return Spec(json.loads(SPEC_FILE.read_text(encoding="utf-8")))


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
