"""The bot as a user runs it: `python -m bot` against the loopback fake Discord.

Start-up is timed from launching the process to the fake sending READY (login, index load or
build, database, command sync and gateway included). The same process then answers `/ask`
questions one after another; end to end is from the fake dispatching INTERACTION_CREATE to the
bot's answer landing (defer, search, database, follow-up), as a user would wait for it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import median

from bench.common import Row, distinct_questions, p50_p99, progress, ratio
from fakecord import FakeDiscord
from fakecord.processes import bot_env, start_bot
from index.config import IndexSettings

log = logging.getLogger(__name__)

STARTUP_TIMEOUT = 600.0
ANSWER_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class Run:
    """One process: seconds to READY and to on_ready (every server received), its memory then,
    and the end-to-end latencies of the questions it answered."""

    ready_seconds: float
    all_guilds_seconds: float
    rss_mb: float
    answers_ms: list[float]


def _process_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _logged(path: Path, needle: str, process: asyncio.subprocess.Process) -> None:
    while needle not in path.read_text(encoding="utf-8", errors="replace"):
        if process.returncode is not None:
            raise RuntimeError(f"the bot exited with {process.returncode}")
        await asyncio.sleep(0.02)


async def run_bot(
    sources_dir: Path,
    cache_dir: Path,
    backend: str,
    questions: list[str],
    workdir: Path,
    extra_guilds: int = 0,
) -> Run:
    """Start `python -m bot`, time READY, ask `questions` by /ask, stop it with SIGTERM."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("QUOTEBOT_", "DISCORD_"))}
    log_path = workdir / f"bot-{backend}-{time.monotonic_ns()}.log"
    # The tests check the traffic against Discord's spec; here that would add the fake's own
    # milliseconds (GUILD_CREATE of 1000 servers, every answer) to the bot's timings.
    async with FakeDiscord(point_discord=False, check_spec=False) as fake:
        for number in range(extra_guilds):  # modest servers: 10 channels, 5 roles each
            guild = fake.add_guild(f"Server {number}")
            for channel in range(10):
                fake.add_text_channel(guild, f"channel-{channel}")
            for role in range(5):
                fake.add_role(guild, f"role-{role}")
        env = {
            **bot_env(fake, clean),
            "QUOTEBOT_INDEX__SOURCES_DIR": str(sources_dir),
            "QUOTEBOT_INDEX__CACHE_DIR": str(cache_dir),
            "QUOTEBOT_INDEX__BACKEND": backend,
            "QUOTEBOT_BOT__DATABASE_URL": f"sqlite+aiosqlite:///{log_path.with_suffix('.db')}",
            "QUOTEBOT_BOT__GUILD_READY_TIMEOUT": "0.05",
            # One user asks every question: lift the per-user and per-channel limits.
            "QUOTEBOT_BOT__COOLDOWN_QUESTIONS": "1000000",
            "QUOTEBOT_BOT__CHANNEL_COOLDOWN_QUESTIONS": "1000000",
        }
        with log_path.open("wb") as log_file:
            start = time.perf_counter()
            process = await start_bot(env, log_file)
            try:
                await fake.wait_for_identify(timeout=STARTUP_TIMEOUT)
                ready = time.perf_counter() - start
                await asyncio.wait_for(_logged(log_path, "connected as", process), STARTUP_TIMEOUT)
                all_guilds = time.perf_counter() - start
                rss = _process_rss_mb(process.pid)
                answers = []
                for i, question in enumerate(questions[:5] + questions):
                    begin = time.perf_counter()
                    sent = await fake.invoke_slash("ask", {"question": question})
                    reply = await fake.wait_for_interaction_reply(
                        sent["id"], timeout=ANSWER_TIMEOUT
                    )
                    if not reply.get("embeds"):
                        raise RuntimeError(f"/ask {question!r} got no answer: {reply}")
                    if i >= 5:  # the first five warm the database and the caches
                        answers.append((time.perf_counter() - begin) * 1000)
            except BaseException:
                output = log_path.read_text(encoding="utf-8", errors="replace")
                progress(f"bot process failed; its log ends with:\n{output[-3000:]}")
                raise
            finally:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
                    try:
                        await asyncio.wait_for(process.wait(), timeout=30)
                    except TimeoutError:
                        process.kill()
                        await process.wait()
    return Run(ready, all_guilds, rss, answers)


def startup_and_e2e(
    sources_dir: Path,
    cache_dir: Path,
    backends: list[str],
    questions: int,
    guilds: int,
    workdir: Path,
    starts: int = 3,
) -> list[Row]:
    """Start-up with a cached index (each backend) vs a cold build, /ask end to end, and what
    `guilds` servers cost at start (time to on_ready, memory) against one.

    Start-up times are the median of `starts` process starts (the first also answers the
    questions); a single start on two shared cores can be off by seconds.
    """
    asked = (distinct_questions(88) * (questions // 88 + 1))[:questions]
    runs: dict[str, list[Run]] = {}
    for backend in backends:
        progress(f"bot process: {starts} cached starts + {questions} /ask, {backend}")
        runs[backend] = [
            asyncio.run(run_bot(sources_dir, cache_dir, backend, asked if i == 0 else [], workdir))
            for i in range(starts)
        ]
    default = IndexSettings().backend if IndexSettings().backend in backends else backends[0]
    progress(f"bot process: {starts} cold starts (empty cache: build and export), {default}")
    cold = [
        asyncio.run(run_bot(sources_dir, workdir / f"cold-cache-{i}", default, [], workdir))
        for i in range(starts)
    ]
    progress(f"bot process: cached start in {guilds} servers, {default}")
    many = asyncio.run(run_bot(sources_dir, cache_dir, default, [], workdir, guilds - 1))
    cold_s = median(r.ready_seconds for r in cold)
    cold_mb = median(r.rss_mb for r in cold)
    rows = [
        Row(
            f"start-up to gateway READY ({backend})",
            f"process start, index cached (median of {starts}); memory",
            f"{median(r.ready_seconds for r in group):.1f} s; "
            f"{median(r.rss_mb for r in group):.0f} MB RSS",
            f"cold start ({default}) {cold_s:.1f} s; {cold_mb:.0f} MB",
            ratio(median(r.ready_seconds for r in group), cold_s),
            "",
        )
        for backend, group in runs.items()
    ]
    rows += [
        Row(
            f"/ask end to end, fake Discord ({backend})",
            f"p50 / p99 over {len(group[0].answers_ms)} questions",
            p50_p99(group[0].answers_ms),
            "interaction -> deferred -> follow-up posted",
            "",
            "",
        )
        for backend, group in runs.items()
    ]
    one = runs[default]
    one_s = median(r.all_guilds_seconds for r in one)
    one_mb = median(r.rss_mb for r in one)
    rows.append(
        Row(
            f"{guilds} servers (10 channels, 5 roles) on one shard ({default})",
            "start to on_ready; memory after",
            f"{many.all_guilds_seconds:.1f} s; {many.rss_mb:.0f} MB",
            f"1 server: {one_s:.1f} s; {one_mb:.0f} MB",
            f"+{(many.rss_mb - one_mb) * 1024 / (guilds - 1):.0f} KB a server",
            "",
        )
    )
    return rows
