"""Bot settings: `config/quotebot.toml`, then `.env`, then `QUOTEBOT_*` environment variables
(the config and `.env` in Quotebot's home folder, see index/home.py).

The token is a secret: it comes only from `DISCORD_TOKEN` (environment or the git-ignored `.env`)
and never appears in a repr, a log line or an error message.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from index.config import IndexSettings, config_path_or_default, read_settings
from index.home import home
from index.logs import LogSettings

log = logging.getLogger(__name__)


class BotSettings(BaseModel):
    """How the bot behaves on Discord."""

    message_content_intent: bool = True
    # Questions a user may ask per window before being asked to wait.
    cooldown_questions: int = Field(5, ge=1)
    cooldown_seconds: float = Field(30.0, gt=0)
    # Longest question accepted from Discord; longer ones are cut (the index cuts again).
    max_question_chars: int = Field(2000, ge=16)
    # Micro-batching: questions arriving within this many ms share one forward pass.
    batch_max_wait_ms: float = Field(5.0, ge=0)
    # A burst of 64 questions is one forward pass: the highest throughput (bench/README.md).
    batch_max_size: int = Field(64, ge=1)
    # Characters of the best passage shown before it is cut at a sentence boundary.
    max_passage_chars: int = Field(1500, ge=200)
    # Characters of each further passage (shown shorter, below the best one).
    max_other_passage_chars: int = Field(300, ge=80)
    sources_per_page: int = Field(10, ge=1, le=25)
    guild_ready_timeout: float = Field(2.0, gt=0)
    # Seconds an interaction (/ask, "Ask Quotebot", an answer's buttons) waits for the database
    # before it is acknowledged anyway: Discord drops one not acknowledged within 3 s, and a
    # question with it. A question whose server settings are that slow is answered privately with
    # the defaults; a click is acknowledged, then answered when its read ends.
    database_wait_seconds: float = Field(1.5, gt=0, lt=3.0)
    # Seconds without any gateway traffic (not even a heartbeat ACK) before the bot drops the
    # connection and resumes on a new one; discord.py's default.
    heartbeat_timeout: float = Field(60.0, gt=0)
    # Sharding (see config/quotebot.toml): 0 lets Discord recommend the shard count; set it to
    # run that many shards, and shard_ids to run only some of them in this process.
    shard_count: int = Field(0, ge=0)
    shard_ids: Annotated[list[int], NoDecode] = []
    # Questions per channel per window, whoever asks: keeps one busy channel from starving others.
    channel_cooldown_questions: int = Field(20, ge=1)
    channel_cooldown_seconds: float = Field(30.0, gt=0)
    # Pages of passages an answer can show with More (k passages each).
    max_pages: int = Field(3, ge=1, le=10)
    # Buttons on an answer stop working after this many seconds (a click then says so and greys
    # them out); until then they work in any bot process, across restarts.
    components_timeout: float = Field(600.0, gt=0)
    # A reply to an answer, or a message in its thread or DM, within this many seconds is taken
    # as a follow-up of the question it answered (when it leans on it: "what did he say?").
    followup_seconds: float = Field(600.0, gt=0)
    # Attempts to reach Discord at start before giving up with one line (exit code 6), waiting
    # connect_backoff_seconds, then twice that, and so on, between them.
    connect_attempts: int = Field(5, ge=1)
    connect_backoff_seconds: float = Field(2.0, ge=0)
    # SQLite in the data folder by default; postgresql+asyncpg://user:pass@host/db for several
    # bot processes sharing one store. Relative SQLite paths are inside the home folder.
    database_url: str = Field("sqlite+aiosqlite:///data/quotebot.db", validate_default=True)
    # Seconds between two reads of the answer-channels from the database: a channel added or
    # removed through another bot process sharing it applies here within this time (the process
    # that ran the command applies it at once). One small query per process each time.
    answer_channels_refresh_seconds: float = Field(30.0, gt=0)

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _comma_separated_ids(cls, value: object) -> object:
        # QUOTEBOT_BOT__SHARD_IDS=0,1 or 3 as well as the JSON list [0, 1].
        if isinstance(value, str):
            return [part for part in value.replace("[", "").replace("]", "").split(",") if part]
        return value

    @model_validator(mode="after")
    def _shards_fit(self) -> BotSettings:
        if self.shard_ids and not self.shard_count:
            raise ValueError(
                "shard_ids needs shard_count: set QUOTEBOT_BOT__SHARD_COUNT to the total number "
                "of shards across all processes"
            )
        wrong = [i for i in self.shard_ids if not 0 <= i < self.shard_count]
        if wrong or len(set(self.shard_ids)) != len(self.shard_ids):
            raise ValueError(
                f"shard_ids {self.shard_ids} must be distinct numbers from 0 to "
                f"{self.shard_count - 1} (shard_count is {self.shard_count})"
            )
        return self

    @field_validator("database_url")
    @classmethod
    def _anchor_sqlite_path(cls, value: str) -> str:
        try:
            url = make_url(value)
        except (ArgumentError, ValueError):
            return value  # Database.open says what is wrong with it
        path = url.database if url.drivername == "sqlite+aiosqlite" else None
        if path and path != ":memory:" and not Path(path).is_absolute():
            return url.set(database=str(home() / path)).render_as_string(hide_password=False)
        return value


class Settings(BaseSettings):
    """Everything Quotebot reads at start."""

    model_config = SettingsConfigDict(
        env_prefix="QUOTEBOT_",
        env_nested_delimiter="__",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    discord_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("DISCORD_TOKEN", "discord_token")
    )
    # Commands sync to this guild instantly when set; globally (can take up to an hour) when not.
    dev_guild_id: int | None = None
    bot: BotSettings = BotSettings()
    index: IndexSettings = IndexSettings()
    log: LogSettings = LogSettings()


def load_settings(config_path: Path | None = None) -> Settings:
    """Read settings; QuotebotError with the file and field at fault when they cannot be used."""
    path = config_path_or_default(config_path)
    return read_settings(Settings, path, env_file=home() / ".env")
