"""A bot's side of the fake gateway: the session IDENTIFY creates (it outlives its websocket,
for RESUME), each live websocket, and their zlib-stream or zstd compression."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import zlib
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .records import GatewayConnectionInfo

if TYPE_CHECKING:
    from .gateway import FakeGateway

log = logging.getLogger(__name__)


class FrameEncoder:
    """Encodes outgoing payloads for one connection (plain text, zlib-stream or zstd-stream)."""

    def __init__(self, compress: str | None) -> None:
        self.compress = compress
        self._zlib: Any = None
        self._zstd: Any = None
        self._zstd_flush: Any = None
        if compress is None:
            return
        if compress == "zlib-stream":
            self._zlib = zlib.compressobj()
        elif compress == "zstd-stream":
            self._init_zstd()
        else:
            raise ValueError(f"unsupported gateway compression {compress!r}")

    def _init_zstd(self) -> None:
        try:
            import zstandard  # type: ignore[import-not-found]
        except ImportError:
            try:
                from compression import zstd  # type: ignore[import-not-found]
            except ImportError as exc:
                raise ValueError("zstd-stream requested but no zstd module is installed") from exc
            compressor = zstd.ZstdCompressor()
            self._zstd = lambda data: compressor.compress(
                data, mode=zstd.ZstdCompressor.FLUSH_BLOCK
            )
            return
        cobj = zstandard.ZstdCompressor().compressobj()
        self._zstd = lambda data: (
            cobj.compress(data) + cobj.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        )

    def encode(self, text: str) -> str | bytes:
        """Return the websocket message for ``text`` (``bytes`` means a binary frame)."""
        raw = text.encode("utf-8")
        if self._zlib is not None:
            return self._zlib.compress(raw) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
        if self._zstd is not None:
            return bytes(self._zstd(raw))
        return text


@dataclasses.dataclass(eq=False)
class GatewaySession:
    """A gateway session created by IDENTIFY; survives disconnects until invalidated.

    ``buffer`` holds every DISPATCH payload sent in this session (for RESUME replay).
    """

    session_id: str
    identify: dict[str, Any]
    intents: int
    shard: tuple[int, int] | None
    seq: int = 0
    buffer: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    connection: GatewayConnection | None = None
    invalidated: bool = False
    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)

    def has_intent(self, intent: int) -> bool:
        """Whether IDENTIFY asked for ``intent``."""
        return bool(self.intents & intent)

    def handles_guild(self, guild_id: int | str | None) -> bool:
        """Whether events of ``guild_id`` go to this session's shard (DMs go to shard 0)."""
        if self.shard is None:
            return True
        shard_id, num_shards = self.shard
        if guild_id is None:
            return shard_id == 0
        return (int(guild_id) >> 22) % num_shards == shard_id


class GatewayConnection:
    """One live websocket from a bot, with its encoder and send lock."""

    def __init__(
        self, gateway: FakeGateway, ws: web.WebSocketResponse, info: GatewayConnectionInfo
    ) -> None:
        self.gateway = gateway
        self.ws = ws
        self.info = info
        self.session: GatewaySession | None = None
        self.encoder: FrameEncoder | None = None
        self.server_close_code: int | None = None
        self._send_lock = asyncio.Lock()
        self.request: web.Request | None = None

    @property
    def open(self) -> bool:
        """Whether the websocket is still usable."""
        return not self.ws.closed and self.server_close_code is None

    async def send(self, payload: dict[str, Any]) -> None:
        """Encode and send one gateway payload (recorded in ``fake.gateway_frames``)."""
        async with self._send_lock:
            if not self.open:
                return
            self.gateway.record_frame("sent", self.info.connection_id, payload)
            text = json.dumps(payload, separators=(",", ":"))
            message = self.encoder.encode(text) if self.encoder is not None else text
            try:
                if isinstance(message, bytes):
                    await self.ws.send_bytes(message)
                else:
                    await self.ws.send_str(message)
            except (ConnectionError, RuntimeError) as exc:
                log.debug("gateway connection %s: send failed: %s", self.info.connection_id, exc)

    async def close(self, code: int, reason: str = "") -> None:
        """Close the websocket from the server side with ``code``."""
        if self.server_close_code is not None or self.ws.closed:
            return
        self.server_close_code = code
        log.info("gateway connection %s: closing with %s %s", self.info.connection_id, code, reason)
        with contextlib.suppress(ConnectionError, RuntimeError, asyncio.TimeoutError):
            await asyncio.wait_for(self.ws.close(code=code, message=reason.encode()), timeout=5)

    def abort(self) -> None:
        """Drop the TCP connection without a close frame (a network failure)."""
        self.server_close_code = 1006
        if self.request is not None and self.request.transport is not None:
            self.request.transport.abort()
