"""Logging for Quotebot's commands: the level, text or JSON lines, and quiet libraries.

The level comes from `-v` (DEBUG), else `QUOTEBOT_LOG_LEVEL`, else `[log] level` in the config,
else the command's own default; the format from `QUOTEBOT_LOG_FORMAT`, else `[log] format`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ValidationError, field_validator

from index.errors import QuotebotError

LogFormat = Literal["text", "json"]
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Libraries that log at INFO or DEBUG about their own housekeeping (bm25s even sets itself to
# DEBUG): at WARNING whatever our level, so that their problems still show.
LIBRARIES = (
    "alembic",
    "bm25s",
    "courlan",
    "discord.http",
    "faiss",
    "filelock",
    "htmldate",
    "httpx",
    "huggingface_hub",
    "matplotlib",
    "PIL",
    "sentence_transformers",
    "trafilatura",
    "transformers",
    "urllib3",
)
# Warnings libraries raise about the pages they parse, not about Quotebot (lxml_html_clean warns
# about each ambiguous link it drops): shown only at DEBUG.
PAGE_WARNINGS = ("lxml_html_clean",)


class LogSettings(BaseModel):
    """`[log]`: how much the bot and the index CLI log, and in which format."""

    # None: the command's default (INFO for the bot, WARNING for `python -m index`).
    level: str | None = None
    # "json": one JSON object a line (time, level, logger, message), for log collectors.
    format: LogFormat = "text"

    @field_validator("level")
    @classmethod
    def _known_level(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if value.upper() not in LEVELS:
            raise ValueError(f"log level {value!r} is not one of {', '.join(LEVELS)}")
        return value.upper()


class JsonFormatter(logging.Formatter):
    """One JSON object a line: what log collectors parse without a pattern."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def chosen(settings: LogSettings | None, *, verbose: bool, default: str) -> tuple[str, LogFormat]:
    """The level and format that apply; QUOTEBOT_LOG_LEVEL/FORMAT override the config file."""
    configured = settings or LogSettings()
    try:
        effective = LogSettings.model_validate(
            {
                "level": os.environ.get("QUOTEBOT_LOG_LEVEL") or configured.level,
                "format": os.environ.get("QUOTEBOT_LOG_FORMAT") or configured.format,
            }
        )
    except ValidationError as exc:
        raise QuotebotError(
            f"QUOTEBOT_LOG_LEVEL / QUOTEBOT_LOG_FORMAT cannot be used ({exc.errors()[0]['msg']}): "
            "set the level to DEBUG, INFO, WARNING or ERROR and the format to text or json"
        ) from None
    return ("DEBUG" if verbose else effective.level or default), effective.format


def configure_logging(
    settings: LogSettings | None,
    *,
    verbose: bool,
    default: str,
    text_formatter: logging.Formatter | None = None,
) -> None:
    """Route every log record to stderr at the chosen level and format; quiet the libraries.

    May be called again (once the config is read): the handler is replaced, not added twice.
    """
    level, log_format = chosen(settings, verbose=verbose, default=default)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if log_format == "json"
        else text_formatter or logging.Formatter("%(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    # Warnings become log records, in the same format and stream as the rest.
    logging.captureWarnings(True)
    if level != "DEBUG":
        for module in PAGE_WARNINGS:
            warnings.filterwarnings("ignore", module=module)
