"""Stage, then rename: how everything Quotebot writes to disk appears whole or not at all.

A crash, a full disk or a refused input leaves at most a hidden staging folder or file beside
the target (removed on the way out when the process survives), never a half-written target.
Staging sits in the target's own folder so the final rename stays on one file system, where it
is atomic.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def staging_folder(parent: Path, prefix: str) -> Iterator[Path]:
    """A new hidden folder in `parent` to fill and then rename into place; removed on exit.

    Whatever is still in it when the block ends (nothing, once it was renamed) is deleted, so a
    failure halfway leaves no trace.
    """
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=prefix))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_text(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder, flushed to disk, renamed over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def remove_leftovers(path: Path) -> None:
    """Delete the temporary files `write_text(path, ...)` calls killed before their rename left."""
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        leftover.unlink(missing_ok=True)
