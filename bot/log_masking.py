"""Keep the bot token out of every log record, whoever logs it and however it got there.

A server error can echo the request's `Authorization` header in its body, and discord.py and the
bot log such bodies; so every record is checked as it is made (message, arguments, traceback and
stack), for the life of the process, rather than trusting each log call.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

MASK = "[DISCORD_TOKEN]"
_secrets: set[str] = set()


def _mask(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, MASK)
    return text


def _scrub(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string: logging reports it when emitting
        return
    masked = _mask(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and record.exc_info[1] is not None:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        masked = _mask(text)
        if masked != text:
            record.exc_text = masked  # formatters use it instead of formatting exc_info again
    if record.stack_info:
        record.stack_info = _mask(record.stack_info)


def mask_in_logs(secret: str) -> None:
    """From now on, `secret` appears in no log record of this process (as `[DISCORD_TOKEN]`)."""
    if not secret or secret in _secrets:
        return
    if not _secrets:
        make_record = logging.getLogRecordFactory()

        def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = make_record(*args, **kwargs)
            _scrub(record)
            return record

        logging.setLogRecordFactory(masked_record)
    _secrets.add(secret)
