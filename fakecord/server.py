"""``FakeDiscord``: a fake Discord (REST API v10 + gateway) on 127.0.0.1 for end-to-end tests.

The real, unmodified discord.py client talks to it over HTTP and websockets. Typical use::

    async with FakeDiscord() as fake:          # starts the server, points discord.py at it
        bot = make_my_bot()
        async with running_bot(bot, fake.token):
            msg = await fake.invoke_slash("ask", {"question": "why?"})
            reply = await fake.wait_for_interaction_reply(msg, timeout=10)
            assert reply["embeds"]

See :class:`FakeDiscord` for the world model, the test-side helpers, recorded traffic and
fault injection.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import logging
import re
import socket
import time
import traceback
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any, TypeVar

from aiohttp import BodyPartReader, web

from bot import endpoints

from . import gateway as gw
from .builders import PRIVILEGED_INTENTS, Intent
from .gateway import FakeGateway, GatewaySession
from .interactions import MESSAGE_COMMAND, USER_COMMAND, InteractionBuilder
from .records import (
    FakeDiscordError,
    FakeDiscordTimeoutError,
    Fault,
    GatewayFrame,
    InteractionRecord,
    PathMatcher,
    RecordedFile,
    RecordedRequest,
)
from .rest import ROUTES, RestHandlers, Route
from .spec_check import SpecChecker, Violation, invalid_form_body
from .world import EPHEMERAL, ApiError, IdLike, World, to_id

logger = logging.getLogger(__name__)

T = TypeVar("T")

API_PREFIX = "/api/v10"
_FILE_FIELD = re.compile(r"^files\[(\d+)\]$")

#: Application flags for the "limited" (unverified bot) privileged intents.
_APP_FLAG_PRESENCE_LIMITED = 1 << 13
_APP_FLAG_GUILD_MEMBERS_LIMITED = 1 << 15
_APP_FLAG_MESSAGE_CONTENT_LIMITED = 1 << 19

RATE_LIMITED_MESSAGE = "You are being rate limited."
UNKNOWN_WEBHOOK = {"message": "Unknown Webhook", "code": 10015}
UNKNOWN_INTERACTION = {"message": "Unknown interaction", "code": 10062}


def json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON response with ``Content-Type: application/json`` exactly (discord.py compares
    the header to that string, so aiohttp's ``; charset=utf-8`` variant would not parse)."""
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers or {})
    return web.Response(
        body=json.dumps(data, separators=(",", ":")).encode(), status=status, headers=all_headers
    )


@contextlib.contextmanager
def point_discord_at(api_base: str, gateway_url: str) -> Iterator[None]:
    """Point discord.py's REST base URL and default gateway elsewhere; restore on exit.

    Sets ``discord.http.Route.BASE`` (read whenever a ``Route`` is built, also by interaction
    webhooks) and ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` (discord.py 2.x
    connects there and appends ``?v=10&encoding=json&compress=zlib-stream``).
    """
    old_base, old_gateway = endpoints.point_discord_at(api_base, gateway_url)
    try:
        yield
    finally:
        endpoints.point_discord_at(old_base, old_gateway)


class FakeDiscord(RestHandlers):
    """A fake Discord server bound to ``127.0.0.1`` on an ephemeral port.

    Parameters
    ----------
    token:
        The only bot token accepted (``Authorization: Bot <token>`` and IDENTIFY); anything
        else gets ``401 {"message": "401: Unauthorized", "code": 0}`` / close code 4004.
    bot_username, application_id:
        Identity of the bot user and its application (application id defaults to the bot id).
    privileged_intents_enabled:
        ``True`` (all), ``False`` (none) or an int mask of :data:`PRIVILEGED_INTENTS` switched
        on "in the developer portal". IDENTIFY asking for others is closed with 4014.
    heartbeat_interval_ms:
        Sent in HELLO.
    interaction_callback_deadline:
        Seconds a bot has to answer an interaction (Discord: 3); later callbacks get
        ``404 Unknown interaction`` (10062). ``None`` disables the check.
    default_world:
        Create a guild "Test Guild" with channels ``#general`` and ``#random`` and users
        ``alice`` (owner) and ``bob`` (see :attr:`guild`, :attr:`channel`, :attr:`user`,
        :attr:`other_user`).
    point_discord:
        On ``start()``, point discord.py at this server (see :func:`point_discord_at`);
        restored on ``stop()``.
    raise_server_errors:
        If a handler of the fake itself crashed, ``stop()`` raises :class:`FakeDiscordError`.
    check_spec:
        Check the traffic against Discord's OpenAPI spec (see :mod:`fakecord.spec_check`):
        every request of the bot, every reply and dispatch of the fake. A request the spec
        rejects is answered like Discord does (``400 Invalid Form Body`` naming the fields).
        ``stop()`` raises :class:`FakeDiscordError` naming each violation (operation, JSON
        path, payload) unless a test took them with :meth:`take_spec_violations`.

    World model: :attr:`world` (a :class:`~fakecord.world.World`), with shortcuts
    :meth:`add_guild`, :meth:`add_text_channel`, :meth:`add_user`, :meth:`add_member`,
    :meth:`add_role`, :meth:`dm_channel`; :attr:`messages` holds the latest state of every
    message. Records: :attr:`requests`, :attr:`interactions`, :attr:`gateway` (frames,
    identifies, resumes, connections).
    """

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        bot_username: str = "quotebot",
        application_id: int | None = None,
        privileged_intents_enabled: bool | int = True,
        heartbeat_interval_ms: int = 41250,
        interaction_callback_deadline: float | None = 3.0,
        recommended_shards: int = 1,
        default_world: bool = True,
        point_discord: bool = True,
        raise_server_errors: bool = True,
        check_spec: bool = True,
    ) -> None:
        self.token = token
        self.world = World(bot_username=bot_username, application_id=application_id)
        if privileged_intents_enabled is True:
            self.privileged_intents_mask = int(PRIVILEGED_INTENTS)
        elif privileged_intents_enabled is False:
            self.privileged_intents_mask = 0
        else:
            self.privileged_intents_mask = int(privileged_intents_enabled) & int(PRIVILEGED_INTENTS)
        self.interaction_callback_deadline = interaction_callback_deadline
        self.recommended_shards = recommended_shards
        self.raise_server_errors = raise_server_errors
        self.gateway = FakeGateway(self, heartbeat_interval_ms=heartbeat_interval_ms)
        self.builder = InteractionBuilder(self.world)
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.interactions: dict[str, InteractionRecord] = {}
        self.server_errors: list[str] = []
        self.spec_checker = SpecChecker() if check_spec else None
        self.port: int | None = None
        self._point_discord = point_discord
        self._pointing: contextlib.ExitStack | None = None
        self._runner: web.AppRunner | None = None
        self._changed_event: asyncio.Event | None = None
        self._routes: list[tuple[Route, re.Pattern[str]]] = [
            (route, _compile_route(route.template)) for route in ROUTES
        ]
        self.guild: dict[str, Any] = {}
        self.channel: dict[str, Any] = {}
        self.user: dict[str, Any] = {}
        self.other_user: dict[str, Any] = {}
        if default_world:
            self.user = self.world.add_user("alice")
            self.other_user = self.world.add_user("bob")
            self.guild = self.world.add_guild("Test Guild", owner=self.user)
            self.world.add_member(self.guild, self.other_user)
            self.channel = self.world.add_text_channel(self.guild, "general")
            self.world.add_text_channel(self.guild, "random")

    # ================================================================== lifecycle

    async def start(self) -> None:
        """Bind 127.0.0.1 on a free port and start serving (and point discord.py here)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._handle_api)
        app.router.add_get("/", self.gateway.handle)
        app.router.add_get("/resume", self.gateway.handle)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._handle_cdn)
        self._changed_event = asyncio.Event()
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock)
        await site.start()
        self.world.http_base = self.http_base
        if self._point_discord:
            self._pointing = contextlib.ExitStack()
            self._pointing.enter_context(point_discord_at(self.api_base, self.gateway_url))
        logger.info("fake Discord listening on %s", self.http_base)

    async def stop(self) -> None:
        """Close websockets, stop the server and restore discord.py's URLs."""
        if self._pointing is not None:
            self._pointing.close()
            self._pointing = None
        if self._runner is not None:
            await self.gateway.close_all(1001, "fake Discord is shutting down")
            await self._runner.cleanup()
            self._runner = None
        if self.raise_server_errors and self.server_errors:
            errors, self.server_errors = self.server_errors, []
            raise FakeDiscordError("the fake Discord server crashed:\n" + "\n".join(errors))
        if self.spec_violations:
            raise FakeDiscordError(_spec_report(self.take_spec_violations()))

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        error = exc_info[1]
        if isinstance(error, BaseException):
            self.raise_server_errors = False
            if self.spec_violations:
                error.add_note(_spec_report(self.take_spec_violations()))
        await self.stop()

    def point_discord(self) -> contextlib.AbstractContextManager[None]:
        """Context manager pointing discord.py at this server (if ``point_discord=False``)."""
        return point_discord_at(self.api_base, self.gateway_url)

    @property
    def http_base(self) -> str:
        """``http://127.0.0.1:<port>``."""
        if self.port is None:
            raise FakeDiscordError("the fake Discord server is not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """Value for ``discord.http.Route.BASE``: ``http://127.0.0.1:<port>/api/v10``."""
        return self.http_base + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """Value for ``DiscordWebSocket.DEFAULT_GATEWAY``: ``ws://127.0.0.1:<port>/``."""
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def resume_gateway_url(self) -> str:
        """The ``resume_gateway_url`` sent in READY: ``ws://127.0.0.1:<port>/resume``."""
        return f"ws://127.0.0.1:{self.port}/resume"

    @property
    def rest_connections(self) -> int:
        """HTTP connections open to the REST API and CDN (gateway websockets not counted).

        A client keeps idle ones for reuse (aiohttp: 15 s), as many as it had requests in flight
        at its busiest, so their number says how the load was timed, not what the bot holds.
        """
        if self._runner is None or self._runner.server is None:
            return 0
        return len(self._runner.server.connections) - len(self.gateway.open_connections)

    # ================================================================== spec check

    @property
    def spec_violations(self) -> list[Violation]:
        """What Discord's OpenAPI spec rejected so far (empty when ``check_spec=False``)."""
        return [] if self.spec_checker is None else list(self.spec_checker.violations)

    def take_spec_violations(self) -> list[Violation]:
        """Return the spec violations so far and forget them (for tests that expect some)."""
        return [] if self.spec_checker is None else self.spec_checker.take()

    def check_dispatch(self, event: str, data: Any) -> None:
        """Check a gateway event against the spec (called for every DISPATCH sent)."""
        if self.spec_checker is not None:
            self.spec_checker.check_dispatch(event, data)

    # ================================================================== world shortcuts

    @property
    def bot_user(self) -> dict[str, Any]:
        """The bot's user object."""
        return self.world.bot_user

    @property
    def application_id(self) -> str:
        """The application id (a string)."""
        return self.world.application_id

    @property
    def messages(self) -> dict[str, dict[str, Any]]:
        """Latest state of every message by id (deleted ones too: see ``world.deleted_messages``)."""
        return self.world.messages

    @property
    def app_flags(self) -> int:
        """Application flags derived from the enabled privileged intents."""
        flags = 0
        if self.privileged_intents_mask & Intent.GUILD_PRESENCES:
            flags |= _APP_FLAG_PRESENCE_LIMITED
        if self.privileged_intents_mask & Intent.GUILD_MEMBERS:
            flags |= _APP_FLAG_GUILD_MEMBERS_LIMITED
        if self.privileged_intents_mask & Intent.MESSAGE_CONTENT:
            flags |= _APP_FLAG_MESSAGE_CONTENT_LIMITED
        return flags

    def add_user(
        self, username: str, *, guild: IdLike | None = None, roles: tuple[IdLike, ...] = ()
    ) -> dict[str, Any]:
        """Create a user; also a member of ``guild`` (default: the default guild, if any)."""
        user = self.world.add_user(username)
        target = guild if guild is not None else (self.guild or None)
        if target:
            self.world.add_member(target, user, roles=roles)
        return user

    def add_guild(self, name: str = "Other Guild", **kwargs: Any) -> dict[str, Any]:
        """Create a guild (see :meth:`World.add_guild`); call before the bot connects."""
        return self.world.add_guild(name, **kwargs)

    def add_text_channel(self, guild: IdLike, name: str, **kwargs: Any) -> dict[str, Any]:
        """Create a text channel (see :meth:`World.add_text_channel`)."""
        return self.world.add_text_channel(guild, name, **kwargs)

    def add_member(self, guild: IdLike, user: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Make ``user`` a member of ``guild`` (see :meth:`World.add_member`)."""
        return self.world.add_member(guild, user, **kwargs)

    def add_role(self, guild: IdLike, name: str, **kwargs: Any) -> dict[str, Any]:
        """Create a role (see :meth:`World.add_role`)."""
        return self.world.add_role(guild, name, **kwargs)

    def dm_channel(self, user: IdLike) -> dict[str, Any]:
        """The DM channel between the bot and ``user`` (created on first use)."""
        return self.world.dm_channel(user)

    def guild_ids(self) -> list[str]:
        """Ids of all guilds the bot is in."""
        return list(self.world.guilds)

    def guild_create_payload(self, guild_id: str, intents: int) -> dict[str, Any]:
        """GUILD_CREATE payload for a session with ``intents`` (used by the gateway)."""
        return self.world.guild_create_payload(guild_id, intents)

    def guild_member_payloads(self, guild_id: str) -> list[dict[str, Any]]:
        """All members of a guild with ``user`` (used for GUILD_MEMBERS_CHUNK)."""
        return self.world.guild_member_payloads(guild_id)

    # ================================================================== change notification

    def notify_changed(self) -> None:
        """Wake up every ``wait_for_*`` call (state changed)."""
        if self._changed_event is not None:
            self._changed_event.set()
            self._changed_event = asyncio.Event()

    async def wait_until(self, check: Callable[[], T | None], *, timeout: float, what: str) -> T:
        """Return ``check()`` as soon as it is truthy; re-evaluated on every state change.

        Raises :class:`FakeDiscordTimeoutError` (mentioning ``what`` and the last requests)
        after ``timeout`` seconds.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            event = self._changed_event or asyncio.Event()
            result = check()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = "\n  ".join(repr(r) for r in self.requests[-10:]) or "(none)"
                message = (
                    f"timed out after {timeout}s waiting for {what}; last requests:\n  {recent}"
                )
                if self.spec_violations:  # a refused request is the likely reason
                    message += "\n" + _spec_report(self.spec_violations)
                raise FakeDiscordTimeoutError(message)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=min(remaining, 0.5))

    # ================================================================== REST plumbing

    def _match_route(self, method: str, path: str) -> tuple[Route | None, dict[str, str]]:
        for route, pattern in self._routes:
            if route.method != method:
                continue
            m = pattern.fullmatch(path)
            if m is not None:
                return route, m.groupdict()
        return None, {}

    async def _parse_body(self, request: web.Request) -> tuple[Any, list[RecordedFile]]:
        files: list[RecordedFile] = []
        if not request.can_read_body:
            return None, files
        if request.content_type == "multipart/form-data":
            body: Any = None
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader):
                    continue
                data = await part.read(decode=False)
                if part.name == "payload_json":
                    body = json.loads(bytes(data))
                else:
                    files.append(
                        RecordedFile(
                            field=part.name or "",
                            filename=part.filename or "",
                            content_type=part.headers.get("Content-Type", ""),
                            data=bytes(data),
                        )
                    )
            return body, files
        raw = await request.read()
        if not raw:
            return None, files
        try:
            return json.loads(raw), files
        except ValueError:
            return raw.decode("utf-8", "replace"), files

    def _find_fault(self, record: RecordedRequest) -> Fault | None:
        for fault in self.faults:
            if not fault.exhausted and fault.matches(record):
                fault.hits += 1
                return fault
        return None

    def _fault_response(self, fault: Fault) -> web.Response:
        status = int(fault.status or 500)
        headers = {"Via": "1.1 google"}
        headers.update(fault.headers)
        body = fault.body
        if body is None:
            body = {"message": f"{status}: fake fault", "code": 0}
        if isinstance(body, (bytes, str)):
            raw = body.encode() if isinstance(body, str) else body
            headers.setdefault("Content-Type", "text/plain")
            return web.Response(body=raw, status=status, headers=headers)
        return json_response(body, status=status, headers=headers)

    def _ratelimit_headers(self, route: Route | None) -> dict[str, str]:
        bucket = hashlib.md5(
            (route.template if route else "unknown").encode(), usedforsecurity=False
        ).hexdigest()
        return {
            "Via": "1.1 google",
            "X-RateLimit-Limit": "50",
            "X-RateLimit-Remaining": "49",
            "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
            "X-RateLimit-Reset-After": "1.000",
            "X-RateLimit-Bucket": bucket,
        }

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        method = request.method.upper()
        route, params = self._match_route(method, path)
        try:
            body, files = await self._parse_body(request)
        except Exception:
            logger.exception("fake Discord could not parse the body of %s %s", method, path)
            self.server_errors.append(f"{method} {path}: unparsable body\n{traceback.format_exc()}")
            body, files = None, []
        record = RecordedRequest(
            method=method,
            path=path,
            route=route.template if route else None,
            params=params,
            query=dict(request.query),
            headers=dict(request.headers),
            json=body,
            files=files,
        )
        self.requests.append(record)
        checker = self.spec_checker
        refused: list[Violation] = []
        if checker is not None:
            has_body = body is not None or bool(files)
            refused = checker.check_request(method, path, record.query, body, has_body)
        self.notify_changed()
        response = await self._respond(record, route, request, refused)
        record.status = response.status
        if isinstance(response, web.Response) and response.body is not None:
            with contextlib.suppress(ValueError, TypeError):
                record.response = json.loads(response.body)  # type: ignore[arg-type]
        scripted = record.fault is not None and record.fault.status is not None
        if checker is not None and not scripted:
            checker.check_reply(method, path, response.status, record.response)
        self.notify_changed()
        return response

    async def _respond(
        self,
        record: RecordedRequest,
        route: Route | None,
        request: web.Request,
        refused: list[Violation],
    ) -> web.Response:
        authorized = request.headers.get("Authorization") == f"Bot {self.token}"
        if route is not None and route.auth and not authorized:
            return json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        if refused:
            # Discord validates the form before anything else happens.
            logger.info("fake Discord: %s %s refused by the spec", record.method, record.path)
            body = invalid_form_body(refused)
            return json_response(body, status=400, headers=self._ratelimit_headers(route))
        fault = self._find_fault(record)
        record.fault = fault
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.status is not None and not fault.after_handler:
            logger.info("fake Discord: fault %s on %s %s", fault.status, record.method, record.path)
            return self._fault_response(fault)
        if route is None:
            logger.warning("fake Discord: no route for %s %s", record.method, record.path)
            response = json_response({"message": "404: Not Found", "code": 0}, status=404)
        else:
            response = await self._run_handler(route, record)
        if fault is not None and fault.status is not None and fault.after_handler:
            logger.info(
                "fake Discord: late fault %s on %s %s", fault.status, record.method, record.path
            )
            return self._fault_response(fault)
        return response

    async def _run_handler(self, route: Route, record: RecordedRequest) -> web.Response:
        headers = self._ratelimit_headers(route)
        try:
            status, data = await route.handler(self, record)
        except ApiError as exc:
            return json_response(exc.body, status=exc.status, headers=headers)
        except Exception:
            tb = traceback.format_exc()
            logger.exception("fake Discord handler crashed on %s %s", record.method, record.path)
            self.server_errors.append(f"{record.method} {record.path}\n{tb}")
            return json_response({"message": "500: Internal Server Error", "code": 0}, status=500)
        if status == 204:
            return web.Response(status=204, headers=headers)
        return json_response(data, status=status, headers=headers)

    async def _handle_cdn(self, request: web.Request) -> web.Response:
        data = self.world.attachment_data.get(request.match_info["attachment_id"])
        if data is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=data, content_type="application/octet-stream")

    @staticmethod
    def files_by_index(record: RecordedRequest) -> dict[int, tuple[str, str, bytes]]:
        """Map ``files[N]`` uploads of a request to ``N -> (filename, content_type, data)``."""
        out: dict[int, tuple[str, str, bytes]] = {}
        for position, upload in enumerate(record.files):
            m = _FILE_FIELD.match(upload.field)
            index = int(m.group(1)) if m else position
            out[index] = (upload.filename, upload.content_type, upload.data)
        return out

    # ================================================================== gateway dispatch

    def _session_view(self, session: GatewaySession, event: str, data: Any) -> Any:
        if not self.gateway.event_visible(session, event, data):
            return None
        data = copy.deepcopy(data)
        if (
            event in ("MESSAGE_CREATE", "MESSAGE_UPDATE")
            and isinstance(data, dict)
            and not session.has_intent(Intent.MESSAGE_CONTENT)
        ):
            self.world.blank_content(data)
        return data

    async def dispatch(self, event: str, data: Any, *, filtered: bool = True) -> int:
        """Send DISPATCH ``event`` (op 0, next ``s``) to every live gateway session.

        With ``filtered`` the event is routed like Discord would: only to the shard of its
        guild, only with the needed intents, and MESSAGE_CREATE/UPDATE content blanked for
        sessions without MESSAGE_CONTENT. Events for disconnected sessions are buffered and
        replayed on RESUME. Returns the number of sessions that got (or buffered) it.
        """
        count = await self.gateway.dispatch(
            event, data, transform=self._session_view if filtered else None
        )
        if not self.gateway.live_sessions:
            logger.warning("fake Discord: %s dropped, no live gateway session", event)
        return count

    async def dispatch_message_event(self, event: str, message: Mapping[str, Any]) -> int:
        """Dispatch MESSAGE_CREATE/MESSAGE_UPDATE for a stored message (not for ephemerals)."""
        if int(message.get("flags") or 0) & EPHEMERAL:
            return 0
        return await self.dispatch(event, self.world.wire_message(message))

    async def dispatch_message_delete(self, message: Mapping[str, Any]) -> int:
        """Dispatch MESSAGE_DELETE for a stored message (not for ephemerals)."""
        if int(message.get("flags") or 0) & EPHEMERAL:
            return 0
        data = {"id": message["id"], "channel_id": message["channel_id"]}
        if message.get("guild_id") is not None:
            data["guild_id"] = message["guild_id"]
        return await self.dispatch("MESSAGE_DELETE", data)

    # ================================================================== user-side helpers

    def _resolve_channel_id(self, channel_id: IdLike | None, guild_id: IdLike | None) -> str:
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

    def _resolve_user(self, user: IdLike | None) -> dict[str, Any]:
        if user is None:
            if not self.user:
                raise FakeDiscordError("no user given and there is no default user")
            return self.user
        return self.world.user(user)

    async def send_user_message(
        self,
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

    async def send_dm(self, author: IdLike | None = None, content: str = "") -> dict[str, Any]:
        """``author`` (default :attr:`user`) sends the bot a direct message."""
        user = self._resolve_user(author)
        channel = self.world.dm_channel(user)
        return await self.send_user_message(channel["id"], user, content)

    async def _send_interaction(self, payload: dict[str, Any]) -> dict[str, Any]:
        record = InteractionRecord(id=payload["id"], token=payload["token"], payload=payload)
        self.interactions[record.id] = record
        count = await self.dispatch("INTERACTION_CREATE", payload)
        if count == 0:
            raise FakeDiscordError("no bot gateway session can receive the interaction")
        return copy.deepcopy(payload)

    async def invoke_slash(
        self,
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
        self,
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
        self,
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
        self,
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
        self,
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

    # ================================================================== inspection

    def interaction(self, interaction: IdLike) -> InteractionRecord:
        """The :class:`InteractionRecord` of an interaction (payload dict or id)."""
        iid = to_id(interaction)
        if iid not in self.interactions:
            raise FakeDiscordError(f"unknown interaction {iid}")
        return self.interactions[iid or ""]

    def sent_messages(
        self,
        channel_id: IdLike | None = None,
        *,
        include_interactions: bool = True,
        include_deleted: bool = False,
    ) -> list[dict[str, Any]]:
        """Messages authored by the bot (latest state, creation order), optionally only in
        ``channel_id``; interaction responses/follow-ups are included unless
        ``include_interactions=False``."""
        cid = to_id(channel_id)
        out = []
        for mid, msg in self.world.messages.items():
            if msg["author"]["id"] != self.world.bot_id:
                continue
            if cid is not None and msg["channel_id"] != cid:
                continue
            if not include_deleted and mid in self.world.deleted_messages:
                continue
            if not include_interactions and "interaction_metadata" in msg:
                continue
            out.append(copy.deepcopy(msg))
        return out

    def message(self, message: IdLike) -> dict[str, Any]:
        """Latest state of a message (a copy)."""
        mid = to_id(message)
        if mid not in self.world.messages:
            raise FakeDiscordError(f"unknown message {mid}")
        return copy.deepcopy(self.world.messages[mid or ""])

    def message_history(self, message: IdLike) -> list[dict[str, Any]]:
        """Every state the message had (creation, then each edit)."""
        return copy.deepcopy(self.world.message_versions.get(to_id(message) or "", []))

    def attachment_bytes(self, attachment: IdLike) -> bytes:
        """The uploaded bytes of an attachment (dict from a message, or id)."""
        return self.world.attachment_data[to_id(attachment) or ""]

    def synced_commands(self, guild_id: IdLike | None = None) -> list[dict[str, Any]]:
        """The commands synced globally (default) or to ``guild_id``."""
        return copy.deepcopy(self.world.commands_for(guild_id))

    def requests_to(
        self, method: str | None = None, path: PathMatcher | None = None
    ) -> list[RecordedRequest]:
        """Recorded requests filtered by method and path (glob, template, regex, predicate)."""
        probe = Fault(method=method, path=path if path is not None else "*")
        return [r for r in self.requests if probe.matches(r)]

    def interaction_responses(self, interaction: IdLike | None = None) -> list[RecordedRequest]:
        """Requests answering interactions: callbacks and webhook calls (follow-ups, edits of
        ``@original``...), optionally for one interaction only."""
        token = None
        if interaction is not None:
            token = self.interaction(interaction).token
        out = []
        for r in self.requests:
            if r.route is None or not r.route.startswith(("/interactions/", "/webhooks/")):
                continue
            if token is not None and r.params.get("token") != token:
                continue
            out.append(r)
        return out

    # ================================================================== waiting

    async def wait_for_request(
        self,
        predicate: Callable[[RecordedRequest], bool],
        *,
        timeout: float = 5.0,
        include_past: bool = True,
    ) -> RecordedRequest:
        """Wait for an answered request matching ``predicate`` (already recorded ones count
        unless ``include_past=False``)."""
        start = 0 if include_past else len(self.requests)

        def check() -> RecordedRequest | None:
            return next((r for r in self.requests[start:] if r.done and predicate(r)), None)

        return await self.wait_until(check, timeout=timeout, what="a matching request")

    async def wait_for_message(
        self,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        *,
        channel_id: IdLike | None = None,
        from_bot: bool = True,
        timeout: float = 5.0,
    ) -> dict[str, Any]:
        """Wait for a (bot-authored, by default) message matching ``predicate``; returns its
        latest state."""
        cid = to_id(channel_id)

        def check() -> dict[str, Any] | None:
            for msg in self.world.messages.values():
                if from_bot and msg["author"]["id"] != self.world.bot_id:
                    continue
                if cid is not None and msg["channel_id"] != cid:
                    continue
                if predicate is None or predicate(msg):
                    return copy.deepcopy(msg)
            return None

        return await self.wait_until(check, timeout=timeout, what="a matching message")

    async def wait_for_reply_to(self, message: IdLike, *, timeout: float = 5.0) -> dict[str, Any]:
        """Wait for the bot's reply (``message_reference``) to ``message``."""
        mid = to_id(message)
        return await self.wait_for_message(
            lambda m: (m.get("message_reference") or {}).get("message_id") == mid, timeout=timeout
        )

    async def wait_for_interaction_callback(
        self, interaction: IdLike, *, timeout: float = 5.0
    ) -> InteractionRecord:
        """Wait until the bot called ``/interactions/{id}/{token}/callback``."""
        record = self.interaction(interaction)
        return await self.wait_until(
            lambda: record if record.callback is not None else None,
            timeout=timeout,
            what=f"the callback of interaction {record.id}",
        )

    async def wait_for_interaction_reply(
        self, interaction: IdLike, *, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Wait for the bot's visible answer to an interaction and return that message.

        Type 4/7 callbacks answer at once; after a defer (5/6) this waits for the edit of
        ``@original`` (or the first follow-up, which Discord turns into that edit). The dict
        is the message's latest state, plus ``allowed_mentions`` as last sent.
        """
        record = self.interaction(interaction)

        def check() -> dict[str, Any] | None:
            answered = record.callback_type in (4, 7) or (
                record.callback_type in (5, 6) and record.original_edited
            )
            if answered and record.original_message_id is not None:
                return copy.deepcopy(self.world.messages[record.original_message_id])
            return None

        return await self.wait_until(
            check, timeout=timeout, what=f"the reply to interaction {record.id}"
        )

    async def wait_for_followup(
        self, interaction: IdLike, *, index: int = 0, timeout: float = 10.0
    ) -> dict[str, Any]:
        """Wait for follow-up message number ``index`` (a new message, not the follow-up
        that replaced a deferred response)."""
        record = self.interaction(interaction)

        def check() -> dict[str, Any] | None:
            if len(record.followup_ids) > index:
                return copy.deepcopy(self.world.messages[record.followup_ids[index]])
            return None

        return await self.wait_until(
            check, timeout=timeout, what=f"follow-up #{index} of interaction {record.id}"
        )

    async def wait_for_autocomplete(
        self, interaction: IdLike, *, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Wait for the autocomplete result (type 8) and return its ``choices``."""
        record = await self.wait_for_interaction_callback(interaction, timeout=timeout)
        if record.callback_type != 8:
            raise FakeDiscordError(f"expected an autocomplete result, got {record.callback}")
        return list((record.callback or {}).get("data", {}).get("choices", []))

    async def wait_for_gateway(
        self, predicate: Callable[[GatewayFrame], bool], *, timeout: float = 5.0
    ) -> GatewayFrame:
        """Wait for a gateway frame (sent or received) matching ``predicate``."""
        frames = self.gateway.frames
        return await self.wait_until(
            lambda: next((f for f in frames if predicate(f)), None),
            timeout=timeout,
            what="a matching gateway frame",
        )

    async def wait_for_identify(self, count: int = 1, *, timeout: float = 5.0) -> dict[str, Any]:
        """Wait until ``count`` IDENTIFYs succeeded (READY was sent); returns the last one."""
        return await self.wait_until(
            lambda: (
                self.gateway.identifies[count - 1]
                if len(self.gateway.identifies) >= count
                else None
            ),
            timeout=timeout,
            what=f"{count} IDENTIFY(s)",
        )

    async def wait_for_resume(self, count: int = 1, *, timeout: float = 5.0) -> dict[str, Any]:
        """Wait until ``count`` RESUMEs succeeded; returns the last resume record
        (``session_id``, ``seq``, ``result``, ``replayed``)."""

        def check() -> dict[str, Any] | None:
            ok = [r for r in self.gateway.resumes if r.get("result") == "resumed"]
            return ok[count - 1] if len(ok) >= count else None

        return await self.wait_until(check, timeout=timeout, what=f"{count} successful RESUME(s)")

    async def wait_for_commands(
        self, names: list[str], *, guild_id: IdLike | None = None, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Wait until commands ``names`` are synced (globally or to ``guild_id``)."""

        def check() -> list[dict[str, Any]] | None:
            commands = self.world.commands_for(guild_id)
            have = {c["name"] for c in commands}
            return copy.deepcopy(commands) if set(names) <= have else None

        return await self.wait_until(check, timeout=timeout, what=f"commands {names} to be synced")

    # ================================================================== faults

    def add_fault(
        self,
        method: str | None,
        path: PathMatcher,
        *,
        status: int | None = 500,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
        delay: float = 0.0,
        after_handler: bool = False,
    ) -> Fault:
        """Make the next ``times`` requests matching ``method``/``path`` fail (see
        :class:`~fakecord.records.Fault`). Returns the fault (``.hits`` counts uses)."""
        fault = Fault(
            method=method.upper() if method else None,
            path=path,
            status=status,
            body=body,
            headers=dict(headers or {}),
            times=times,
            delay=delay,
            after_handler=after_handler,
        )
        self.faults.append(fault)
        return fault

    def rate_limit(
        self,
        method: str | None,
        path: PathMatcher,
        *,
        retry_after: float = 0.1,
        times: int = 1,
        is_global: bool = False,
    ) -> Fault:
        """Answer the next ``times`` matching requests with a Discord 429 (JSON body with
        ``retry_after``/``global`` and the ``Retry-After``, ``X-RateLimit-*`` and ``Via``
        headers discord.py needs to treat it as a real rate limit and retry)."""
        headers = {
            "Retry-After": str(max(1, int(retry_after + 0.999))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Bucket": "fakebucket",
            "X-RateLimit-Scope": "global" if is_global else "user",
        }
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {"message": RATE_LIMITED_MESSAGE, "retry_after": retry_after, "global": is_global}
        return self.add_fault(method, path, status=429, body=body, headers=headers, times=times)

    def fail(
        self,
        method: str | None,
        path: PathMatcher,
        status: int = 500,
        *,
        times: int = 1,
        **kwargs: Any,
    ) -> Fault:
        """Shortcut for :meth:`add_fault` with a status (500/502/503 retry in discord.py)."""
        return self.add_fault(method, path, status=status, times=times, **kwargs)

    def expire_interaction(self, interaction: IdLike) -> None:
        """Invalidate an interaction token: callbacks get 404 ``Unknown interaction``
        (10062), webhook calls 404 ``Unknown Webhook`` (10015)."""
        self.interaction(interaction).expired = True

    def clear_faults(self) -> None:
        """Remove all REST faults."""
        self.faults.clear()

    async def close_gateway(self, code: int = 4000, reason: str = "") -> int:
        """Close the bot's websocket(s) with ``code`` (4000 resumable; 4004 auth failed, 4014
        disallowed intents... end the session). Returns how many sockets were closed."""
        return await self.gateway.close_all(code, reason)

    def drop_gateway(self) -> int:
        """Abort the bot's TCP connection(s) without a close frame (network failure)."""
        conns = self.gateway.open_connections
        for conn in conns:
            conn.abort()
        return len(conns)

    async def send_reconnect(self) -> int:
        """Send op 7 RECONNECT (the bot should reconnect and RESUME)."""
        return await self.gateway.send_op(gw.RECONNECT, None)

    async def send_invalid_session(self, resumable: bool = False) -> int:
        """Send op 9 INVALID_SESSION (``d=resumable``); non-resumable ends the sessions."""
        if not resumable:
            for conn in self.gateway.open_connections:
                if conn.session is not None:
                    conn.session.invalidated = True
        return await self.gateway.send_op(gw.INVALID_SESSION, resumable)

    def set_heartbeat_ack(self, enabled: bool) -> None:
        """Stop (``False``) or resume ACKing heartbeats (op 11)."""
        self.gateway.ack_heartbeats = enabled


def _spec_report(violations: list[Violation]) -> str:
    lines = "\n".join(f"  - {v}" for v in violations)
    return (
        f"Discord's OpenAPI spec rejects {len(violations)} payload(s) (fix the side named; a "
        f"known spec quirk goes in fakecord.spec_check.ALLOWED with its reason):\n{lines}"
    )


def _compile_route(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return re.compile(pattern)


async def _wait_ready(bot: Any, task: asyncio.Task[Any], timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not bot.is_ready():
        if task.done():
            task.result()
            raise FakeDiscordError("bot.start() returned before the bot became ready")
        if loop.time() > deadline:
            raise FakeDiscordTimeoutError(f"bot not ready after {timeout}s")
        await asyncio.sleep(0.01)


async def _shut_down(bot: Any, task: asyncio.Task[Any], timeout: float) -> None:
    if not bot.is_closed():
        await asyncio.wait_for(bot.close(), timeout=timeout)
    if not task.done():
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=timeout)
        except TimeoutError:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


@contextlib.asynccontextmanager
async def running_bot(
    bot: Any, token: str, *, ready_timeout: float = 10.0, close_timeout: float = 10.0
) -> AsyncIterator[Any]:
    """Run ``bot.start(token)`` in a task, wait until it is ready, yield it, then close it.

    Works for any ``discord.Client`` (``commands.Bot`` included). If ``start`` fails before
    READY (e.g. ``discord.LoginFailure``, ``discord.PrivilegedIntentsRequired``) that
    exception is raised here, after the bot was closed. On a normal exit the bot is closed,
    its task awaited, and an exception the task died with while the body ran is re-raised.
    """
    task = asyncio.create_task(bot.start(token), name="fake-discord-bot")
    try:
        await _wait_ready(bot, task, ready_timeout)
        yield bot
    finally:
        await _shut_down(bot, task, close_timeout)
    if task.done() and not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]
