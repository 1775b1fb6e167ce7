"""The fake Discord gateway: websocket sessions, zlib-stream compression, resume buffers.

One :class:`FakeGateway` belongs to a :class:`~fakecord.server.FakeDiscord`. It speaks the
v10 gateway protocol over aiohttp websockets: HELLO, heartbeat/ACK, IDENTIFY -> READY +
GUILD_CREATE, RESUME with replay of missed events, RECONNECT / INVALID_SESSION and close codes
on demand. Each IDENTIFY creates a :class:`GatewaySession` that outlives its websocket so a
bot can RESUME it (:mod:`fakecord.gateway_session`); events dispatched while no socket is attached are buffered for the resume.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .builders import new_token
from .flags import PRIVILEGED_INTENTS, Intent
from .gateway_session import FrameEncoder, GatewayConnection, GatewaySession
from .records import GatewayConnectionInfo, GatewayFrame

if TYPE_CHECKING:
    from .server import FakeDiscord

log = logging.getLogger(__name__)

# Opcodes
DISPATCH = 0
HEARTBEAT = 1
IDENTIFY = 2
PRESENCE_UPDATE = 3
VOICE_STATE_UPDATE = 4
RESUME = 6
RECONNECT = 7
REQUEST_GUILD_MEMBERS = 8
INVALID_SESSION = 9
HELLO = 10
HEARTBEAT_ACK = 11

#: Close codes after which Discord does not let the session be resumed.
SESSION_ENDING_CLOSE_CODES = frozenset({1000, 1001, 4004, 4007, 4009, 4010, 4011, 4012, 4013, 4014})

# Which intent a gateway event needs, for guild events and for DM events.
_MESSAGE_EVENTS = {"MESSAGE_CREATE", "MESSAGE_UPDATE", "MESSAGE_DELETE", "MESSAGE_DELETE_BULK"}
_REACTION_EVENTS = {
    "MESSAGE_REACTION_ADD",
    "MESSAGE_REACTION_REMOVE",
    "MESSAGE_REACTION_REMOVE_ALL",
    "MESSAGE_REACTION_REMOVE_EMOJI",
}
_GUILD_ID_IS_ID_EVENTS = {"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"}


class FakeGateway:
    """The websocket side of :class:`~fakecord.server.FakeDiscord`.

    Use it through the ``FakeDiscord`` methods (``dispatch``, ``close_gateway``...); its
    attributes are the records: ``connections``, ``sessions``, ``identifies``, ``resumes``,
    ``frames``, ``heartbeats``.
    """

    def __init__(self, fake: FakeDiscord, *, heartbeat_interval_ms: int) -> None:
        self.fake = fake
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.ack_heartbeats = True
        self.connections: list[GatewayConnection] = []
        self.sessions: dict[str, GatewaySession] = {}
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []
        self.frames: list[GatewayFrame] = []
        self.heartbeats = 0
        self._ids = itertools.count(1)

    # ------------------------------------------------------------------ bookkeeping

    def record_frame(self, direction: str, connection_id: int, payload: dict[str, Any]) -> None:
        """Append a frame to ``frames`` and wake up waiters."""
        self.frames.append(
            GatewayFrame(
                direction=direction,
                connection_id=connection_id,
                op=int(payload.get("op", -1)),
                t=payload.get("t"),
                s=payload.get("s"),
                d=payload.get("d"),
            )
        )
        self.fake.notify_changed()

    @property
    def live_sessions(self) -> list[GatewaySession]:
        """Sessions that can still receive (or buffer) events."""
        return [s for s in self.sessions.values() if not s.invalidated]

    @property
    def open_connections(self) -> list[GatewayConnection]:
        """Websockets currently open."""
        return [c for c in self.connections if c.open]

    # ------------------------------------------------------------------ websocket handler

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """aiohttp handler for ``/`` and ``/resume`` websocket upgrades."""
        ws = web.WebSocketResponse(timeout=5.0, autoclose=True, autoping=True, compress=False)
        await ws.prepare(request)
        info = GatewayConnectionInfo(
            connection_id=next(self._ids), path=request.path, query=dict(request.query)
        )
        conn = GatewayConnection(self, ws, info)
        conn.request = request
        self.connections.append(conn)
        self.fake.notify_changed()
        log.info("gateway connection %s opened: %s", info.connection_id, request.path_qs)
        try:
            await self._serve(conn)
        finally:
            info.closed_at = time.time()
            if conn.server_close_code is not None:
                info.close_code, info.closed_by = conn.server_close_code, "server"
            else:
                info.close_code, info.closed_by = ws.close_code, "client"
            session = conn.session
            if session is not None and session.connection is conn:
                session.connection = None
                if info.close_code in SESSION_ENDING_CLOSE_CODES and info.closed_by == "client":
                    session.invalidated = True
            log.info(
                "gateway connection %s closed by %s with %s",
                info.connection_id,
                info.closed_by,
                info.close_code,
            )
            self.fake.notify_changed()
        return ws

    async def _serve(self, conn: GatewayConnection) -> None:
        query = conn.info.query
        if query.get("encoding", "json") != "json":
            await conn.close(4002, "Only encoding=json is supported by the fake")
            return
        try:
            conn.encoder = FrameEncoder(query.get("compress"))
        except ValueError as exc:
            await conn.close(4000, str(exc))
            return
        await conn.send(
            {
                "op": HELLO,
                "d": {"heartbeat_interval": self.heartbeat_interval_ms, "_trace": ["fake-gateway"]},
                "s": None,
                "t": None,
            }
        )
        async for msg in conn.ws:
            if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                continue
            try:
                raw = msg.data if isinstance(msg.data, str) else msg.data.decode("utf-8")
                payload = json.loads(raw)
                if not isinstance(payload, dict):
                    raise ValueError("payload is not an object")
            except ValueError:
                await conn.close(4002, "Error while decoding payload.")
                return
            self.record_frame("received", conn.info.connection_id, payload)
            await self._on_payload(conn, payload)
            if not conn.open:
                return

    async def _on_payload(self, conn: GatewayConnection, payload: dict[str, Any]) -> None:
        op = payload.get("op")
        data = payload.get("d")
        if op == HEARTBEAT:
            self.heartbeats += 1
            if self.ack_heartbeats:
                await conn.send({"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None})
            return
        if op == IDENTIFY:
            await self._identify(conn, data or {})
            return
        if op == RESUME:
            await self._resume(conn, data or {})
            return
        if conn.session is None:
            await conn.close(4003, "Not authenticated.")
            return
        if op == REQUEST_GUILD_MEMBERS:
            await self._request_members(conn.session, data or {})
            return
        if op in (PRESENCE_UPDATE, VOICE_STATE_UPDATE):
            return
        await conn.close(4001, "Unknown opcode.")

    async def _identify(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        if conn.session is not None:
            await conn.close(4005, "Already authenticated.")
            return
        if data.get("token") != self.fake.token:
            await conn.close(4004, "Authentication failed.")
            return
        if "intents" not in data:
            await conn.close(4013, "Invalid intent(s).")
            return
        intents = int(data["intents"])
        missing = intents & int(PRIVILEGED_INTENTS) & ~self.fake.privileged_intents_mask
        if missing:
            await conn.close(4014, "Disallowed intent(s).")
            return
        shard: tuple[int, int] | None = None
        if data.get("shard") is not None:
            shard_id, num_shards = (int(x) for x in data["shard"])
            if num_shards < 1 or not 0 <= shard_id < num_shards:
                await conn.close(4010, "Invalid shard.")
                return
            shard = (shard_id, num_shards)
        self.identifies.append(data)
        session = GatewaySession(
            session_id=new_token().replace("-", "")[:32],
            identify=data,
            intents=intents,
            shard=shard,
        )
        self.sessions[session.session_id] = session
        conn.session = session
        session.connection = conn
        conn.info.session_id = session.session_id
        conn.info.identified = True
        guild_ids = [gid for gid in self.fake.guild_ids() if session.handles_guild(gid)]
        ready = {
            "v": 10,
            "user": self.fake.bot_user,
            "user_settings": {},
            "guilds": [{"id": gid, "unavailable": True} for gid in guild_ids],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.fake.resume_gateway_url,
            "application": {"id": str(self.fake.application_id), "flags": self.fake.app_flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["fake"],
            "auth": {},
            "_trace": ["fake-gateway"],
        }
        if shard is not None:
            ready["shard"] = list(shard)
        async with session.lock:
            await self._send_dispatch(session, "READY", ready)
            for gid in guild_ids:
                await self._send_dispatch(
                    session, "GUILD_CREATE", self.fake.guild_create_payload(gid, intents)
                )

    async def _resume(self, conn: GatewayConnection, data: dict[str, Any]) -> None:
        record = dict(data)
        self.resumes.append(record)
        if data.get("token") != self.fake.token:
            record["result"] = "bad-token"
            await conn.close(4004, "Authentication failed.")
            return
        session = self.sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        if session is None or session.invalidated:
            record["result"] = "invalid-session"
            await conn.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        if seq is None or int(seq) > session.seq:
            record["result"] = "invalid-seq"
            session.invalidated = True
            await conn.close(4007, "Invalid seq.")
            return
        async with session.lock:
            old = session.connection
            session.connection = conn
            conn.session = session
            conn.info.session_id = session.session_id
            conn.info.resumed = True
            if old is not None and old is not conn:
                await old.close(4000, "Session resumed elsewhere")
            missed = [p for p in session.buffer if p["s"] > int(seq)]
            record["result"] = "resumed"
            record["replayed"] = len(missed)
            for payload in missed:
                await conn.send(payload)
            await self._send_dispatch(session, "RESUMED", {"_trace": ["fake-gateway"]})
        self.fake.notify_changed()

    async def _request_members(self, session: GatewaySession, data: dict[str, Any]) -> None:
        guild_ids = data.get("guild_id")
        if not isinstance(guild_ids, list):
            guild_ids = [guild_ids]
        for gid in guild_ids:
            members = self.fake.guild_member_payloads(str(gid))
            user_ids = data.get("user_ids")
            query = data.get("query")
            if user_ids:
                wanted = {str(u) for u in user_ids}
                members = [m for m in members if m["user"]["id"] in wanted]
            elif query:
                members = [m for m in members if m["user"]["username"].startswith(query)]
            limit = int(data.get("limit") or 0)
            if limit:
                members = members[:limit]
            chunk: dict[str, Any] = {
                "guild_id": str(gid),
                "members": members,
                "chunk_index": 0,
                "chunk_count": 1,
                "not_found": [],
            }
            if data.get("nonce") is not None:
                chunk["nonce"] = data["nonce"]
            if data.get("presences"):
                chunk["presences"] = []
            await self.dispatch("GUILD_MEMBERS_CHUNK", chunk, sessions=[session])

    # ------------------------------------------------------------------ dispatching

    async def _send_dispatch(self, session: GatewaySession, event: str, data: Any) -> None:
        """Assign the next ``s``, buffer and send (caller holds ``session.lock``)."""
        self.fake.check_dispatch(event, data)
        session.seq += 1
        payload = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
        session.buffer.append(payload)
        conn = session.connection
        if conn is not None and conn.open:
            await conn.send(payload)

    async def dispatch(
        self,
        event: str,
        data: Any,
        *,
        sessions: list[GatewaySession] | None = None,
        transform: Callable[[GatewaySession, str, Any], Any] | None = None,
    ) -> int:
        """Send DISPATCH ``event`` to every live session (or ``sessions``).

        ``transform(session, event, data)`` may return a per-session copy of ``data`` or
        ``None`` to skip that session (used for intents, shard routing and content blanking).
        Returns the number of sessions the event was sent to or buffered for.
        """
        count = 0
        for session in sessions if sessions is not None else self.live_sessions:
            payload = data if transform is None else transform(session, event, data)
            if payload is None:
                continue
            async with session.lock:
                await self._send_dispatch(session, event, payload)
            count += 1
        return count

    # ------------------------------------------------------------------ faults

    async def close_all(self, code: int, reason: str = "") -> int:
        """Close every open websocket with ``code``; returns how many were closed."""
        conns = self.open_connections
        for conn in conns:
            if conn.session is not None and code in SESSION_ENDING_CLOSE_CODES:
                conn.session.invalidated = True
        await asyncio.gather(*(c.close(code, reason) for c in conns))
        return len(conns)

    async def send_op(self, op: int, d: Any) -> int:
        """Send a raw non-dispatch payload to every open websocket."""
        conns = self.open_connections
        for conn in conns:
            await conn.send({"op": op, "d": d, "s": None, "t": None})
        return len(conns)

    def event_visible(self, session: GatewaySession, event: str, data: Any) -> bool:
        """Whether a session should get ``event`` given its shard and intents."""
        if not isinstance(data, dict):
            return True
        guild_id = data.get("guild_id")
        if guild_id is None and event in _GUILD_ID_IS_ID_EVENTS:
            guild_id = data.get("id")
        if not session.handles_guild(guild_id):
            return False
        in_guild = guild_id is not None
        if event in _MESSAGE_EVENTS:
            return session.has_intent(Intent.GUILD_MESSAGES if in_guild else Intent.DIRECT_MESSAGES)
        if event in _REACTION_EVENTS:
            return session.has_intent(
                Intent.GUILD_MESSAGE_REACTIONS if in_guild else Intent.DIRECT_MESSAGE_REACTIONS
            )
        if event == "TYPING_START":
            return session.has_intent(
                Intent.GUILD_MESSAGE_TYPING if in_guild else Intent.DIRECT_MESSAGE_TYPING
            )
        if event.startswith(("GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE", "GUILD_MEMBER_REMOVE")):
            return session.has_intent(Intent.GUILD_MEMBERS)
        return True
