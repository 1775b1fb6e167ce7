"""`python -m bot` as a real process against the fake Discord: SIGTERM closes it gracefully."""

from __future__ import annotations

import asyncio
import secrets
import signal
from pathlib import Path

import pytest

from bot.endpoints import API_BASE_ENV, GATEWAY_ENV
from fakecord import FakeDiscord
from fakecord.processes import bot_env, start_bot
from tests.reliability.helpers import DRONES, ask_by_mention, assert_quotes

# Starting a process loads torch and the model: slow on a busy machine, so wait long.
STARTUP_TIMEOUT = 240.0
# The bound: SIGTERM to exit.
GRACEFUL_CLOSE_SECONDS = 5.0


async def test_sigterm_closes_the_gateway_with_1000_within_five_seconds(
    process_env: dict[str, str], tmp_path: Path
) -> None:
    """`kill <pid>`: the bot leaves Discord cleanly (close 1000) and exits 0 within 5 s, its log free of the token."""
    token = "MTIz.sigterm-" + secrets.token_urlsafe(24)
    log_path = tmp_path / "bot.log"
    async with FakeDiscord(token=token, point_discord=False) as fake:
        env = bot_env(fake, process_env)
        with log_path.open("wb") as log_file:
            process = await start_bot(env, log_file, "-v")
            try:
                await fake.wait_for_identify(timeout=STARTUP_TIMEOUT)
                assert_quotes(await ask_by_mention(fake, DRONES[0]), DRONES[1])
                process.send_signal(signal.SIGTERM)
                code = await asyncio.wait_for(process.wait(), timeout=GRACEFUL_CLOSE_SECONDS)
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
        connection = fake.gateway.connections[-1].info
    output = log_path.read_text(encoding="utf-8", errors="replace")
    assert code == 0, output[-3000:]
    assert (connection.close_code, connection.closed_by) == (1000, "client"), output[-6000:]
    assert "SIGTERM received" in output
    assert "Traceback" not in output, output[-5000:]
    assert token not in output and token.split(".", 1)[1] not in output


def test_endpoints_refuse_anything_but_loopback():
    """The test-only endpoint variables cannot send the token off the machine."""
    from bot.endpoints import apply_endpoint_overrides
    from index.errors import QuotebotError

    for name, value in (
        (API_BASE_ENV, "https://discord.example.com/api/v10"),
        (GATEWAY_ENV, "wss://gateway.discord.gg/"),
        (API_BASE_ENV, "file:///etc/passwd"),
    ):
        with pytest.raises(QuotebotError, match="on this machine"):
            apply_endpoint_overrides({name: value})
    assert apply_endpoint_overrides({}) is False
