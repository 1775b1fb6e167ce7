"""`python -m bot` / `quotebot`: load settings and the index, then run on Discord or in a console."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import discord

from bot.console import run_console
from bot.endpoints import apply_endpoint_overrides
from bot.log_masking import mask_in_logs
from bot.settings import BotSettings, Settings, load_settings
from bot.storage import Database
from bot.storage.database import DatabaseCorruptError
from index.errors import QuotebotError
from index.retriever import Retriever

log = logging.getLogger("bot")

# Documented in README.md ("Exit codes"); scripts and service managers can tell them apart.
EXIT_CONFIG = 2
EXIT_LOGIN = 3
EXIT_INTENTS = 4
EXIT_DATABASE = 5
EXIT_UNREACHABLE = 6
EXIT_GATEWAY = 7
# Errors that mean "Discord cannot be reached from here", not "Discord said no".
NETWORK_ERRORS = (OSError, aiohttp.ClientError, TimeoutError, discord.DiscordServerError)


class DiscordUnreachableError(QuotebotError):
    """Discord's API could not be reached at start, after every attempt."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quotebot", description=__doc__)
    parser.add_argument(
        "--console", action="store_true", help="answer in this terminal, even with a token"
    )
    parser.add_argument("--config", type=Path, help="TOML config (default config/quotebot.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def configure_logging(verbose: bool) -> None:
    """One place for logging: our loggers at INFO (or DEBUG), discord.py's HTTP chatter quieter."""
    discord.utils.setup_logging(level=logging.DEBUG if verbose else logging.INFO, root=True)
    logging.getLogger("discord.http").setLevel(logging.WARNING)
    for noisy in ("sentence_transformers", "faiss", "bm25s", "httpx", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@contextlib.asynccontextmanager
async def closed_by_signals(bot: discord.Client) -> AsyncIterator[None]:
    """While inside, SIGTERM and SIGINT close the bot gracefully instead of killing the process:
    the gateway is closed with 1000 and `bot.start()` returns, so `async with bot` cleans up."""
    loop = asyncio.get_running_loop()
    closing: set[asyncio.Task[None]] = set()

    def on_signal(signum: signal.Signals) -> None:
        log.info("%s received: disconnecting from Discord", signum.name)
        task = loop.create_task(bot.close())
        closing.add(task)
        task.add_done_callback(closing.discard)

    installed = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(signum, on_signal, signum)
        except (NotImplementedError, RuntimeError):  # Windows, or a loop outside the main thread
            continue
        installed.append(signum)
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
        # Let a close a signal started finish before asyncio.run cancels what is left.
        await asyncio.gather(*closing)


async def _wait_for_discord(settings: BotSettings) -> None:
    """Until Discord's API answers at all, retry with a doubling wait (a network blip or an outage
    at start should not need a person to restart the bot); then one error with what to check.

    A plain request to the API root, without the token: discord.py's login opens a new HTTP
    session each time it is called, so it is called once, when Discord is known to be there.
    """
    delay = settings.connect_backoff_seconds
    url = f"{discord.http.Route.BASE}/gateway"
    timeout = aiohttp.ClientTimeout(total=10)
    for attempt in range(1, settings.connect_attempts + 1):
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(url) as response,
            ):
                if response.status < 500:
                    return
                reason = f"HTTP {response.status}"
        except (TimeoutError, OSError, aiohttp.ClientError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        if attempt == settings.connect_attempts:
            raise DiscordUnreachableError(
                f"cannot reach Discord after {attempt} attempt(s) ({reason}): check this "
                "machine's network, DNS and firewall (discord.com, port 443), then start again"
            )
        log.warning("cannot reach Discord (%s); trying again in %g s", reason, delay)
        await asyncio.sleep(delay)
        delay *= 2


async def run_discord(settings: Settings, retriever: Retriever) -> int:
    """Connect and serve until closed; login, network and intent problems become one line and an
    exit code."""
    from bot.bot import Quotebot

    assert settings.discord_token is not None
    mask_in_logs(settings.discord_token.get_secret_value())
    apply_endpoint_overrides()  # test-only: unset in production (see bot/endpoints.py)
    # Opened (and checked) before connecting: a damaged database is found now, not at the first
    # answer.
    database = await Database.open(settings.bot.database_url)
    bot = Quotebot(settings, retriever, database=database)
    async with bot, closed_by_signals(bot):
        try:
            await _wait_for_discord(settings.bot)
            await bot.start(settings.discord_token.get_secret_value())
        except discord.LoginFailure:
            log.error(
                "Discord rejected DISCORD_TOKEN (401): copy the bot token again from the Developer Portal"
            )
            return EXIT_LOGIN
        except discord.PrivilegedIntentsRequired:
            log.error(
                "Discord refused the Message Content intent: enable it for the bot in the Developer "
                "Portal (Bot > Privileged Gateway Intents) or set QUOTEBOT_BOT__MESSAGE_CONTENT_INTENT=false"
            )
            return EXIT_INTENTS
        except DiscordUnreachableError as exc:
            log.error("%s", exc)
            return EXIT_UNREACHABLE
        except discord.ConnectionClosed as exc:
            if exc.code == 4004:
                log.error(
                    "Discord's gateway rejected DISCORD_TOKEN (close code 4004, authentication "
                    "failed): the token was reset or revoked; copy it again from the Developer Portal"
                )
                return EXIT_LOGIN
            log.error(
                "Discord's gateway closed the connection for good (close code %s%s): see "
                "https://discord.com/developers/docs/topics/opcodes-and-status-codes, fix the "
                "cause, then start again",
                exc.code,
                f", {exc.reason}" if exc.reason else "",
            )
            return EXIT_GATEWAY
        except NETWORK_ERRORS as exc:
            log.error(
                "lost Discord while connecting (%s: %s): check this machine's network, then start "
                "again",
                type(exc).__name__,
                exc,
            )
            return EXIT_UNREACHABLE
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m bot` and the `quotebot` script."""
    args = _parser().parse_args(argv)
    configure_logging(args.verbose)
    try:
        settings = load_settings(args.config)
        if settings.discord_token is not None:
            mask_in_logs(settings.discord_token.get_secret_value())
        console = args.console or settings.discord_token is None
        if settings.discord_token is None:
            log.info("no DISCORD_TOKEN set: opening the console instead of connecting to Discord")
        retriever = Retriever(settings.index)
        if console:
            return asyncio.run(run_console(settings, retriever))
        return asyncio.run(run_discord(settings, retriever))
    except DatabaseCorruptError as exc:
        log.error("%s", exc)
        return EXIT_DATABASE
    except QuotebotError as exc:
        log.error("%s", exc)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
