"""`python -m bot` as a real process pointed at a loopback fake Discord (tests and bench)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from bot.endpoints import API_BASE_ENV, GATEWAY_ENV
from fakecord import FakeDiscord
from index.config import PROJECT_ROOT


def bot_env(fake: FakeDiscord, base: Mapping[str, str]) -> dict[str, str]:
    """`base` plus the fake's token and the endpoint overrides that point the bot at it."""
    return {
        **base,
        "DISCORD_TOKEN": fake.token,
        API_BASE_ENV: fake.api_base,
        GATEWAY_ENV: fake.gateway_url,
    }


async def start_bot(
    env: Mapping[str, str], log_file: IO[bytes], *args: str
) -> asyncio.subprocess.Process:
    """Start `python -m bot ARGS` from the project root, no stdin, all output to `log_file`."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=PROJECT_ROOT,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )


def wait_for_log(path: Path, needle: str, process: asyncio.subprocess.Process) -> asyncio.Task:
    """A task that ends when `needle` appears in the log at `path` (or fails if the bot exits)."""

    async def poll() -> str:
        while True:
            text = path.read_text(encoding="utf-8", errors="replace")
            if needle in text:
                return text
            if process.returncode is not None:
                raise AssertionError(f"the bot exited with {process.returncode}:\n{text[-3000:]}")
            await asyncio.sleep(0.1)

    return asyncio.create_task(poll())
