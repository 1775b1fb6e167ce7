"""Quotebot's home: the folder whose `sources/`, `config/`, `.cache/`, `data/` and `.env` it uses.

`QUOTEBOT_HOME` when set; else the current directory when it has a `sources/` folder (a clone of
the project, or a folder an operator prepared); else a per-user data folder. A home without
`sources/` is seeded on first use with the bundled article and the default config, which ship
inside the installed package (`index/bundled/`, copied there when the wheel is built) or, in a
clone, are the project's own `sources/` and `config/`.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from pathlib import Path

from index.errors import QuotebotError

log = logging.getLogger(__name__)

PACKAGE = Path(__file__).resolve().parent
CONFIG_NAME = Path("config") / "quotebot.toml"


def user_data_folder() -> Path:
    """Where each platform keeps a user's application data."""
    if sys.platform == "win32":
        return (
            Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "Quotebot"
        )
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Quotebot"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "quotebot"


def home() -> Path:
    """The home folder as chosen above; nothing is created (see `prepare_home`)."""
    chosen = os.environ.get("QUOTEBOT_HOME")
    if chosen:
        return Path(chosen).expanduser().resolve()
    if (Path.cwd() / "sources").is_dir():
        return Path.cwd()
    return user_data_folder()


def bundled_data() -> Path:
    """The folder holding the bundled `sources/` and `config/`: package data when installed
    from a wheel, the project's own folders in a clone (an editable install)."""
    installed = PACKAGE / "bundled"
    return installed if installed.is_dir() else PACKAGE.parent


def prepare_home() -> Path:
    """The home folder, seeded with the bundled article and default config if it has no sources."""
    folder = home()
    if (folder / "sources").exists():
        return folder
    bundled = bundled_data()
    try:
        shutil.copytree(bundled / "sources", folder / "sources")
        if not (folder / CONFIG_NAME).exists():
            (folder / CONFIG_NAME).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(bundled / CONFIG_NAME, folder / CONFIG_NAME)
    except OSError as exc:
        raise QuotebotError(
            f"cannot set up Quotebot's data folder {folder} ({exc.strerror or exc}): set "
            "QUOTEBOT_HOME to a writable folder"
        ) from None
    log.info(
        "first start in %s: copied the bundled article and the default config there; "
        "add articles to %s",
        folder,
        folder / "sources",
    )
    return folder
