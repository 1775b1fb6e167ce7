"""The index survives a SIGKILL mid-rebuild: on restart it is the old index or the new one,
whole and checksum-verified, never half of one."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import pytest

from index.config import PROJECT_ROOT, IndexSettings
from index.ingest.loaders import load_sources
from index.retriever import Retriever
from index.search import store
from index.search.store import current_build, file_fingerprints, load, read_manifest
from tests.reliability.helpers import DRONES

# Starting `python -m index` loads torch and the model: slow on a busy machine.
STARTUP_TIMEOUT = 240.0
BAKERY = (
    "---\ntitle: Bakery wins\npublisher: Town News\n---\n\n"
    "The Mill Street bakery won the national bread prize for its sourdough.\n"
)


def synthetic_article(paragraphs: int, seed: int = 7) -> str:
    """A long article of unique made-up prose: thousands of texts to embed, seconds of work."""
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pra", "gel", "dor", "fin"]
    vocabulary = [
        "".join(rng.choice(syllables) for _ in range(rng.randint(2, 3))) for _ in range(500)
    ]
    lines = ["A synthetic report on the grain markets", ""]
    for number in range(paragraphs):
        sentences = [
            " ".join(rng.choice(vocabulary) for _ in range(rng.randint(10, 18))).capitalize() + "."
            for _ in range(2)
        ]
        lines += [f"Section {number} says that " + " ".join(sentences), ""]
    return "\n".join(lines)


def _state(settings: IndexSettings) -> tuple[str, dict[str, str]]:
    """The build CURRENT names, fully loaded (every checksum verified), and its source files."""
    folder = current_build(settings)
    assert folder is not None
    data = load(folder)  # raises IndexCorruptError on any half-written or mismatched file
    assert len(data.passages) == sum(len(s.passages) for s in data.sources)
    return folder.name, dict(read_manifest(folder)["files"])


def test_sigkill_during_index_build_leaves_the_old_index(make_settings, encoder, tmp_path: Path):
    """`python -m index build` SIGKILLed mid-rebuild leaves the old index whole; a restart uses it as is."""
    settings = make_settings()
    Retriever(settings, encoder=encoder)
    old_build, old_files = _state(settings)
    big = settings.sources_dir / "synthetic.txt"
    big.write_text(synthetic_article(800), encoding="utf-8")
    log_path = tmp_path / "build.log"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("QUOTEBOT_")},
        "QUOTEBOT_INDEX__SOURCES_DIR": str(settings.sources_dir),
        "QUOTEBOT_INDEX__CACHE_DIR": str(settings.cache_dir),
    }
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "index", "-v", "build"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while "embedding" not in log_path.read_text(errors="replace"):
                assert process.poll() is None, log_path.read_text(errors="replace")[-2000:]
                assert time.monotonic() < deadline, "the build never started embedding"
                time.sleep(0.1)
            time.sleep(1.0)  # well into the embedding of thousands of texts
            assert process.poll() is None, "the build finished before it could be killed"
            process.send_signal(signal.SIGKILL)
            assert process.wait(timeout=60) == -signal.SIGKILL
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert _state(settings) == (old_build, old_files)
    big.unlink()  # the change is undone: the restart must find the old index usable as it is
    before = encoder.texts_encoded
    restarted = Retriever(settings, encoder=encoder)
    assert not restarted.last_report.rebuilt and encoder.texts_encoded == before
    assert restarted.passage_encoder.texts_encoded == 0
    assert restarted.search(DRONES[0]).hits[0].passage.number == 9


def _die(*args: Any, **kwargs: Any) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _arm(point: str) -> None:
    """In the doomed child: SIGKILL the process when `store.save` reaches `point`."""
    real_replace = os.replace

    def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        if (point == "build-folder-complete" and Path(src).is_dir()) or (
            point == "build-renamed" and Path(dst).name == store.CURRENT
        ):
            _die()
        real_replace(src, dst, *args, **kwargs)

    os.replace = replace  # type: ignore[assignment]
    if point == "files-half-written":
        faiss.write_index = _die
    if point == "current-switched":
        shutil.rmtree = _die  # type: ignore[assignment]  # removing the previous build


def _killed_while_saving(save: Callable[[], object], point: str) -> int:
    """Run `save` in a forked child SIGKILLed at `point`; the child's wait status."""
    pid = os.fork()
    if pid == 0:  # the child: nothing but the save, then gone without any cleanup
        try:
            _arm(point)
            save()
        finally:
            os._exit(3)  # reached only when the kill point never came
    deadline = time.monotonic() + 120
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            pytest.fail(f"the child saving the index hung at {point}")
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("point", "current_after"),
    [
        ("files-half-written", "old"),
        ("build-folder-complete", "old"),
        ("build-renamed", "old"),
        ("current-switched", "new"),
    ],
)
def test_sigkill_at_each_step_of_saving_leaves_a_whole_index(
    make_settings, encoder, point, current_after
):
    """Killed at any step of writing a build, the index on restart is the old or the new one, whole."""
    settings = make_settings()
    old = Retriever(settings, encoder=encoder)
    old_build, old_files = _state(settings)
    (settings.sources_dir / "bakery.md").write_text(BAKERY, encoding="utf-8")
    new_files = file_fingerprints(settings.sources_dir)
    data = store.build(
        load_sources(settings.sources_dir),
        new_files,
        encoder,
        settings,
        passages=old.passage_encoder,
    )
    status = _killed_while_saving(lambda: store.save(data, settings), point)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
    build, files = _state(settings)
    if current_after == "old":
        assert (build, files) == (old_build, old_files)
    else:
        assert build != old_build and files == new_files
    restarted = Retriever(settings, encoder=encoder)
    assert restarted.last_report.rebuilt == (current_after == "old")
    assert restarted.search("Which bakery won the bread prize?").hits[0].passage.source_id == (
        "bakery"
    )
    build, files = _state(settings)
    assert files == new_files
    if restarted.last_report.rebuilt:  # a build after the crash sweeps its leftovers away
        left = sorted(p.name for p in (settings.cache_dir / "index").iterdir())
        assert left == sorted([build, store.CURRENT])  # no staging folder, no .CURRENT.*.tmp
