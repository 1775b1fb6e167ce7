"""Test-only: point discord.py at a loopback Discord (the fake in fakecord/).

End-to-end tests that start `python -m bot` as a subprocess cannot reach into it to redirect
discord.py, so the subprocess reads two environment variables instead:

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


def apply_endpoint_overrides(environ: Mapping[str, str] | None = None) -> bool:
    """Point discord.py at the URLs in the environment, if any; True when something was set."""
    import discord.gateway
    import discord.http

    env = os.environ if environ is None else environ
    api_base, gateway = env.get(API_BASE_ENV), env.get(GATEWAY_ENV)
    if api_base:
        url = _loopback_url(API_BASE_ENV, api_base, ("http", "https"))
        discord.http.Route.BASE = str(url).rstrip("/")
        log.warning("test endpoint: Discord REST API at %s", discord.http.Route.BASE)
    if gateway:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = _loopback_url(
            GATEWAY_ENV, gateway, ("ws", "wss")
        )
        log.warning("test endpoint: Discord gateway at %s", gateway)
    return bool(api_base or gateway)
