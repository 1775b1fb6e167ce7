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
import logging
import re
import socket
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from .faults import FaultInjection
from .flags import PRIVILEGED_INTENTS, Intent
from .gateway import FakeGateway
from .gateway_session import GatewaySession
from .inspection import Inspection
from .interactions import InteractionBuilder
from .records import (
    FakeDiscordError,
    Fault,
    InteractionRecord,
    RecordedRequest,
)
from .rest import RestHandlers
from .rest_interactions import InteractionHandlers
from .rest_serving import API_PREFIX, RestServing, compile_route
from .routes import ROUTES, Route
from .running import point_discord_at
from .spec_check import SpecChecker, Violation, spec_report
from .user_actions import UserActions
from .waiting import Waiting
from .wire import EPHEMERAL, IdLike
from .world import World

log = logging.getLogger(__name__)

#: Application flags for the "limited" (unverified bot) privileged intents.
_APP_FLAG_PRESENCE_LIMITED = 1 << 13
_APP_FLAG_GUILD_MEMBERS_LIMITED = 1 << 15
_APP_FLAG_MESSAGE_CONTENT_LIMITED = 1 << 19


class FakeDiscord(
    RestServing, UserActions, Inspection, Waiting, FaultInjection, RestHandlers, InteractionHandlers
):
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
            (route, compile_route(route.template)) for route in ROUTES
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
        log.info("fake Discord listening on %s", self.http_base)

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
            raise FakeDiscordError(spec_report(self.take_spec_violations()))

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        error = exc_info[1]
        if isinstance(error, BaseException):
            self.raise_server_errors = False
            if self.spec_violations:
                error.add_note(spec_report(self.take_spec_violations()))
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
            log.warning("fake Discord: %s dropped, no live gateway session", event)
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
