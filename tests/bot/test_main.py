"""Starting Quotebot as a person does: `python -m bot`, with and without a token or a config."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys

import pytest

from bot.endpoints import API_BASE_ENV, GATEWAY_ENV
from bot.settings import load_settings
from bot.storage import Database
from tests.conftest import SOURCES


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("main")
    shutil.copytree(SOURCES, root / "sources")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("QUOTEBOT_", "DISCORD_"))}
    return {
        **clean,
        "QUOTEBOT_INDEX__SOURCES_DIR": str(root / "sources"),
        "QUOTEBOT_INDEX__CACHE_DIR": str(root / "cache"),
    }


def bot(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_console_answers_questions_from_stdin(env):
    """With no token, the console opens, answers each line as the bot would, and quits cleanly."""
    done = bot(
        env,
        stdin="Which country supplies Russia with drones?\n😀😀\nWhat is the recipe for pancakes?\n"
        "What did Xi say about Macron?\nquit\n",
    )
    assert done.returncode == 0, done.stderr
    assert "no DISCORD_TOKEN" in done.stderr
    out = done.stdout
    assert "**Putin is banking on Iran for its supply of Shahed drones" in out
    assert "¶9 · Why Vladimir Putin needs Xi Jinping now more than ever — The Independent" in out
    assert "no words to search for" in out
    assert (
        "Nothing in *Why Vladimir Putin needs Xi Jinping now more than ever* answers that." in out
    )
    # A partial answer says what the article lacks before the closest passage.
    assert "question> **The article doesn't mention Macron.** Closest:\n> " in out
    assert "Traceback" not in done.stderr


def test_console_leaves_on_end_of_input(env):
    """Ctrl-D (end of input) leaves the console with exit code 0."""
    done = bot(env, "--console", stdin="Who is David Dalton?\n")
    assert done.returncode == 0
    assert "Dalton" in done.stdout


def test_unreadable_config_is_one_line_and_exit_2(env, tmp_path):
    """A broken config file ends with one clear line naming the file, no traceback."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[index\nk = 3\n", encoding="utf-8")
    done = bot(env, "--config", str(bad))
    assert done.returncode == 2
    assert str(bad) in done.stderr and "Traceback" not in done.stderr
    invalid = tmp_path / "invalid.toml"
    invalid.write_text("[index]\nk = 0\n", encoding="utf-8")
    done = bot(env, "--config", str(invalid))
    assert done.returncode == 2 and "index.k" in done.stderr


def test_missing_sources_is_one_line_and_exit_2(env, tmp_path):
    """A missing sources folder is one line saying how to fix it."""
    done = bot({**env, "QUOTEBOT_INDEX__SOURCES_DIR": str(tmp_path / "nowhere")})
    assert done.returncode == 2
    assert "does not exist" in done.stderr and "Traceback" not in done.stderr


def test_token_never_appears_in_reprs(monkeypatch):
    """The token is a secret: the settings' repr and str never show it."""
    monkeypatch.setenv("DISCORD_TOKEN", "MTIz.secret-token-value")
    settings = load_settings()
    assert settings.discord_token.get_secret_value() == "MTIz.secret-token-value"
    assert "secret-token-value" not in repr(settings) and "secret-token-value" not in str(settings)


def test_environment_overrides_config(monkeypatch):
    """`QUOTEBOT_*` variables override the TOML defaults."""
    monkeypatch.setenv("QUOTEBOT_BOT__COOLDOWN_QUESTIONS", "2")
    monkeypatch.setenv("QUOTEBOT_DEV_GUILD_ID", "1234")
    monkeypatch.setenv("QUOTEBOT_INDEX__K", "5")
    settings = load_settings()
    assert (settings.bot.cooldown_questions, settings.dev_guild_id, settings.index.k) == (
        2,
        1234,
        5,
    )


def test_logs_follow_level_and_json_format(env, tmp_path):
    """QUOTEBOT_LOG_FORMAT=json makes every log line a JSON object; the level comes from
    QUOTEBOT_LOG_LEVEL or `[log] level`; libraries stay quiet; a wrong level is one line."""
    done = bot({**env, "QUOTEBOT_LOG_FORMAT": "json"}, stdin="quit\n")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines()]
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert any("no DISCORD_TOKEN" in r["message"] for r in records)
    assert all(r["logger"].startswith(("bot", "index")) for r in records), records

    config = tmp_path / "quiet.toml"
    config.write_text('[log]\nlevel = "WARNING"\n', encoding="utf-8")
    quiet = bot(env, "--config", str(config), stdin="quit\n")
    assert quiet.returncode == 0 and quiet.stderr == ""
    louder = bot({**env, "QUOTEBOT_LOG_LEVEL": "info"}, "--config", str(config), stdin="quit\n")
    assert "no DISCORD_TOKEN" in louder.stderr

    wrong = bot({**env, "QUOTEBOT_LOG_LEVEL": "loud"}, stdin="quit\n")
    assert wrong.returncode == 2 and len(wrong.stderr.strip().splitlines()) == 1
    assert "QUOTEBOT_LOG_LEVEL" in wrong.stderr and "Traceback" not in wrong.stderr


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("case", "code", "says"),
    [
        ("discord-unreachable", 6, "cannot reach Discord"),
        ("damaged-database", 5, "is damaged"),
        ("missing-table", 5, "has lost its table answer_channels"),
    ],
)
def test_start_up_failures_are_one_line_and_an_exit_code(env, tmp_path, case, code, says):
    """Discord unreachable (after the retries), a damaged database and one that lost a table
    (dropped by hand, restored in part): one ERROR line with the fix, the documented exit code,
    no traceback."""
    from tests.bot.storage.test_database import _answer, _damage_a_table_page

    port = _closed_port()
    database = tmp_path / "quotebot.db"
    if case == "damaged-database":

        async def fill() -> None:
            db = await Database.open(f"sqlite+aiosqlite:///{database}")
            for n in range(200):
                await _answer(db, question=f"question {n} " * 20)
            await db.close()

        asyncio.run(fill())
        _damage_a_table_page(database)
    if case == "missing-table":

        async def create() -> None:
            await (await Database.open(f"sqlite+aiosqlite:///{database}")).close()

        asyncio.run(create())
        with sqlite3.connect(database) as raw:
            raw.execute("DROP TABLE answer_channels")
    done = bot(
        {
            **env,
            "DISCORD_TOKEN": "fake-bot-token",
            API_BASE_ENV: f"http://127.0.0.1:{port}/api/v10",
            GATEWAY_ENV: f"ws://127.0.0.1:{port}/",
            "QUOTEBOT_BOT__DATABASE_URL": f"sqlite+aiosqlite:///{database}",
            "QUOTEBOT_BOT__CONNECT_ATTEMPTS": "2",
            "QUOTEBOT_BOT__CONNECT_BACKOFF_SECONDS": "0.1",
        }
    )
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and says in errors[0], done.stderr
    if case == "missing-table":  # the bot's own fix, not "check that the folder is writable"
        assert "restore a backup" in errors[0] and "writable" not in errors[0]


def test_console_survives_bytes_that_are_not_utf8(env):
    """A line of invalid UTF-8 on stdin is read with the bad bytes replaced: answered, and the
    console goes on to the next line."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--console"],
        env={**env, "PYTHONIOENCODING": "utf-8"},
        input=b"\xff\xfe\xc3 Which country supplies Russia with drones?\n\x80\x81\nWho is David Dalton?\nquit\n",
        capture_output=True,
        timeout=300,
    )
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 0 and "Traceback" not in stderr, stderr
    out = done.stdout.decode("utf-8")
    assert "Putin is banking on Iran" in out and "Dalton" in out
