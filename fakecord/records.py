"""Data records kept by the fake Discord server: requests, gateway traffic, interactions, faults.

These are plain dataclasses so tests can inspect them directly (``fake.requests[-1].json``).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
import time
from collections.abc import Callable
from typing import Any


class FakeDiscordError(AssertionError):
    """Raised by the fake's test helpers when a test asks for something Discord would refuse.

    It subclasses :class:`AssertionError` so pytest reports it as a test failure.
    """


class CommandNotSyncedError(FakeDiscordError):
    """The test tried to invoke an application command the bot never synced (Discord would not
    show it to the user at all)."""


class FakeDiscordTimeoutError(TimeoutError):
    """A ``wait_for_*`` helper timed out; the message says what was awaited and what was seen."""


@dataclasses.dataclass
class RecordedFile:
    """One uploaded file of a multipart request (``files[N]`` part)."""

    field: str
    filename: str
    content_type: str
    data: bytes

    @property
    def size(self) -> int:
        """Size of the upload in bytes."""
        return len(self.data)


@dataclasses.dataclass
class RecordedRequest:
    """One HTTP request the bot made to the fake REST API.

    ``path`` is relative to ``/api/v10`` (e.g. ``/channels/123/messages``); ``route`` is the
    matched template (e.g. ``/channels/{channel_id}/messages``) or ``None`` for unknown routes.
    ``json`` is the parsed JSON body, or the parsed ``payload_json`` part of a multipart body.
    ``status``/``response`` are filled in when the response has been sent.
    """

    method: str
    path: str
    route: str | None
    params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    files: list[RecordedFile]
    timestamp: float = dataclasses.field(default_factory=time.time)
    monotonic: float = dataclasses.field(default_factory=time.monotonic)
    status: int | None = None
    response: Any = None
    fault: Fault | None = None

    @property
    def done(self) -> bool:
        """Whether the fake has answered this request."""
        return self.status is not None

    def __repr__(self) -> str:
        return f"<RecordedRequest {self.method} {self.path} -> {self.status}>"


@dataclasses.dataclass
class GatewayFrame:
    """One gateway payload, ``direction`` is ``"sent"`` (fake -> bot) or ``"received"``."""

    direction: str
    connection_id: int
    op: int
    t: str | None
    s: int | None
    d: Any
    timestamp: float = dataclasses.field(default_factory=time.time)


@dataclasses.dataclass
class GatewayConnectionInfo:
    """Bookkeeping for one websocket connection from a bot to the fake gateway."""

    connection_id: int
    path: str
    query: dict[str, str]
    opened_at: float = dataclasses.field(default_factory=time.time)
    closed_at: float | None = None
    close_code: int | None = None
    closed_by: str | None = None
    session_id: str | None = None
    identified: bool = False
    resumed: bool = False


@dataclasses.dataclass
class InteractionRecord:
    """Everything the fake knows about one interaction it sent to the bot.

    ``callback`` is the body of ``POST /interactions/{id}/{token}/callback`` (``{"type": ...,
    "data": ...}``), ``original_message_id`` the id of the ``@original`` message (for a
    component interaction answered with type 6/7 it is the message holding the component),
    ``followup_ids`` the ids of follow-up messages in order. The message dicts themselves
    live in ``fake.messages`` (latest state after edits).
    """

    id: str
    token: str
    payload: dict[str, Any]
    callback: dict[str, Any] | None = None
    callback_at: float | None = None
    original_message_id: str | None = None
    original_edited: bool = False
    followup_ids: list[str] = dataclasses.field(default_factory=list)
    expired: bool = False
    created_monotonic: float = dataclasses.field(default_factory=time.monotonic)

    @property
    def callback_type(self) -> int | None:
        """The interaction response type (4 message, 5 deferred, 6 deferred update, 7 update,
        8 autocomplete result, 9 modal), or ``None`` if the bot has not answered yet."""
        return None if self.callback is None else int(self.callback.get("type", 0))


PathMatcher = str | re.Pattern[str] | Callable[[RecordedRequest], bool]


@dataclasses.dataclass
class Fault:
    """A scripted failure for the next ``times`` matching REST requests.

    Match: ``method`` (``None`` = any) and ``path``, which is a glob on the concrete path
    (``"/channels/*/messages"``), a route template (``"/channels/{channel_id}/messages"``),
    a compiled regex, or a predicate on the :class:`RecordedRequest`.
    Effect: wait ``delay`` seconds, then answer ``status`` with ``body``/``headers`` (if
    ``status`` is ``None`` the request is processed normally after the delay). With
    ``after_handler=True`` the request is processed first (side effects happen, e.g. the
    message is created) and only the response is replaced: the "lost response" case.
    """

    method: str | None
    path: PathMatcher
    status: int | None = 500
    body: Any = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    times: int = 1
    delay: float = 0.0
    after_handler: bool = False
    hits: int = 0

    @property
    def exhausted(self) -> bool:
        """Whether this fault has fired ``times`` times already."""
        return self.hits >= self.times

    def matches(self, request: RecordedRequest) -> bool:
        """Whether this fault applies to ``request``."""
        if self.method is not None and self.method.upper() != request.method:
            return False
        path = self.path
        if callable(path) and not isinstance(path, re.Pattern):
            return bool(path(request))
        if isinstance(path, re.Pattern):
            return path.fullmatch(request.path) is not None
        if "{" in path:
            return request.route == path
        return fnmatch.fnmatchcase(request.path, path)
