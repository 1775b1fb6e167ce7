"""`python -m bot db ...`: the migrations as operators run them, and that they match the models."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from bot.storage import Database
from bot.storage.database import DatabaseCorruptError


def db(
    url: str, *args: str, python: tuple[str, ...] = ("-m", "bot")
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUOTEBOT_", "DISCORD_"))}
    return subprocess.run(
        [sys.executable, *python, "db", *args],
        env={**env, "QUOTEBOT_BOT__DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_migrations_match_the_models(tmp_path):
    """On a new database, `db upgrade` reaches the head, and autogenerate then finds nothing to
    migrate: the models and the migrations agree."""
    url = f"sqlite+aiosqlite:///{tmp_path}/new/quotebot.db"
    assert db(url, "current").stdout.strip() == ""
    upgraded = db(url, "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "(head)" in db(url, "current").stdout
    checked = db(url, "check")
    assert checked.returncode == 0, checked.stderr
    assert "No new upgrade operations detected" in checked.stdout


def test_a_failing_db_command_is_one_line(tmp_path):
    """An unknown revision ends with one line saying what to check, and exit code 2."""
    done = db(f"sqlite+aiosqlite:///{tmp_path}/quotebot.db", "upgrade", "nosuchrevision")
    assert done.returncode == 2
    assert "db upgrade failed" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def _one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and " ERROR " in lines[0], done.stderr
    return lines[0]


def test_check_on_a_database_that_lost_a_table_says_what_start_up_says(tmp_path):
    """A database at the latest revision that lost a table (dropped by hand, restored in part):
    `db check` gives start-up's one line and exit code 5 (restore a backup or start on a new
    database), not "write a migration", which cannot bring the table back."""
    path = tmp_path / "quotebot.db"
    url = f"sqlite+aiosqlite:///{path}"
    assert db(url, "upgrade").returncode == 0
    with sqlite3.connect(path) as raw:
        raw.execute("DROP TABLE answer_channels")
    checked = db(url, "check")
    line = _one_error_line(checked)
    assert checked.returncode == 5
    assert "has lost its table answer_channels" in line and "restore a backup" in line, line
    assert "write a migration" not in line
    with pytest.raises(DatabaseCorruptError) as start_up:
        asyncio.run(Database.open(url))
    assert line.endswith(f"bot: {start_up.value}"), (line, str(start_up.value))


@pytest.mark.parametrize("by_hand", ["ALTER TABLE guild_settings ADD COLUMN theme TEXT", None])
def test_check_still_asks_for_a_migration_when_models_and_database_differ(tmp_path, by_hand):
    """At the latest revision, a difference that is not a lost table is still "write a migration":
    a column the models lack (added by hand) and a table the models gained without a migration
    (the bot run with one more model), which the database lacks but must not be called lost."""
    path = tmp_path / "quotebot.db"
    url = f"sqlite+aiosqlite:///{path}"
    assert db(url, "upgrade").returncode == 0
    python: tuple[str, ...] = ("-m", "bot")
    if by_hand:
        with sqlite3.connect(path) as raw:
            raw.execute(by_hand)
    else:
        new_model = """
            import sys
            from sqlalchemy import Column, Integer, Table
            from bot.__main__ import main
            from bot.storage.models import Base
            Table("reminders", Base.metadata, Column("id", Integer, primary_key=True))
            sys.exit(main(sys.argv[1:]))
        """
        python = ("-c", textwrap.dedent(new_model))
    checked = db(url, "check", python=python)
    line = _one_error_line(checked)
    assert checked.returncode == 2
    assert "the models and the migrations differ" in line and "write a migration" in line, line
    assert ("reminders" if by_hand is None else "theme") in line


def test_check_behind_the_latest_revision_says_to_upgrade(tmp_path):
    """Behind the latest revision the tables of the pending migrations are missing, not lost:
    `db check` says the database is not up to date, as before."""
    url = f"sqlite+aiosqlite:///{tmp_path}/quotebot.db"
    assert db(url, "upgrade", "0001").returncode == 0
    checked = db(url, "check")
    line = _one_error_line(checked)
    assert checked.returncode == 2
    assert "not up to date" in line and "lost" not in line, line
