"""Where discord.py connects: the one place that redirects it (`point_discord_at`).

The fake Discord (fakecord/) redirects the client of its own process with it. End-to-end tests
that start `python -m bot` as a subprocess cannot reach into it, so the subprocess reads two
environment variables instead (`apply_endpoint_overrides`):

    QUOTEBOT_DISCORD_API_BASE=http://127.0.0.1:<port>/api/v10   (discord.http.Route.BASE)
    QUOTEBOT_DISCORD_GATEWAY=ws://127.0.0.1:<port>/             (DiscordWebSocket.DEFAULT_GATEWAY)

Unset (always, in production) nothing changes. Only loopback hosts are accepted: the bot sends
its token to these URLs, so they can never send it off the machine.
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Mapping

import yarl

from index.errors import QuotebotError

log = logging.getLogger(__name__)

API_BASE_ENV = "QUOTEBOT_DISCORD_API_BASE"
GATEWAY_ENV = "QUOTEBOT_DISCORD_GATEWAY"


def _loopback_url(name: str, value: str, schemes: tuple[str, ...]) -> yarl.URL:
    url = yarl.URL(value)
    host = url.host or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if url.scheme not in schemes or not loopback:
        raise QuotebotError(
            f"{name} must be a {'/'.join(schemes)} URL on this machine (127.0.0.1, ::1 or "
            f"localhost), got {value!r}: it is for tests against a local fake Discord only"
        )
    return url


def point_discord_at(
    api_base: str | yarl.URL | None, gateway: str | yarl.URL | None
) -> tuple[str, yarl.URL]:
    """Set discord.py's REST base and default gateway (None leaves one as it is).

    `discord.http.Route.BASE` is read whenever a `Route` is built (interaction webhooks too);
    discord.py connects to `DiscordWebSocket.DEFAULT_GATEWAY` and appends its query. Returns the
    previous pair, for a caller (the fake Discord) that puts them back.
    """
    import discord.gateway
    import discord.http

    previous = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    if api_base is not None:
        discord.http.Route.BASE = str(api_base).rstrip("/")
    if gateway is not None:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(str(gateway))
    return previous


def apply_endpoint_overrides(environ: Mapping[str, str] | None = None) -> bool:
    """Point discord.py at the URLs in the environment, if any; True when something was set."""
    env = os.environ if environ is None else environ
    api_base, gateway = env.get(API_BASE_ENV), env.get(GATEWAY_ENV)
    point_discord_at(
        _loopback_url(API_BASE_ENV, api_base, ("http", "https")) if api_base else None,
        _loopback_url(GATEWAY_ENV, gateway, ("ws", "wss")) if gateway else None,
    )
    if api_base:
        log.warning("test endpoint: Discord REST API at %s", api_base.rstrip("/"))
    if gateway:
        log.warning("test endpoint: Discord gateway at %s", gateway)
    return bool(api_base or gateway)
