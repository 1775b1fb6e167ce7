"""Discord's official OpenAPI spec (API v10), loaded once and read the way Discord means it.

:func:`discord_spec` parses ``discord-openapi.json`` (Discord's published OpenAPI 3.1 spec, MIT,
see ``discord-openapi.LICENSE``) once per process; :class:`Spec` finds the operation serving a
method and path, and says what is wrong with a payload against any schema, compiling each
schema's validator once (JSON Schema 2020-12, ``$ref`` resolved by ``referencing``).

The spec's conventions:

- an int-parseable string passes where the spec says ``integer`` (64-bit numbers travel as
  strings; snowflakes are written as ``format: snowflake`` strings);
- ``oneOf`` is read as ``anyOf``: the spec's unions overlap (a nonce ``"12"`` is both its
  integer and its string form, a partial object fits several shapes) and Discord takes the
  first that fits, telling components and callbacks apart by ``type``;
- an error inside a union is reported from the branch the payload was written for (a button
  missing ``style`` at its place in the action row, not "no branch matched" at the row).

:mod:`fakecord.spec_check` uses it on the fake's traffic.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_FILE = Path(__file__).with_name("discord-openapi.json")
_SPEC_URI = "urn:discord-api-spec:v10"
_HTTP_METHODS = ("get", "put", "post", "patch", "delete")
_INT = re.compile(r"-?[0-9]+")
_UNIONS = ("anyOf", "oneOf")


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
