"""`python -m bot db ...`: the migrations as operators run them, and that they match the models."""

from __future__ import annotations

import os
import subprocess
import sys


def db(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUOTEBOT_", "DISCORD_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", "db", *args],
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
