"""Installing Quotebot on a fresh machine: the torch build `setup.sh` picks, and the wheel."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from index.config import PROJECT_ROOT


def _torch_report(tmp_path: Path, **env: str) -> tuple[dict[str, str], str]:
    """Resolve torch as `setup.sh` would, without installing: {package: version}, stderr."""
    report = tmp_path / "report.json"
    done = subprocess.run(
        ["bash", str(PROJECT_ROOT / "setup.sh"), "--torch-report", str(report)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    installs = json.loads(report.read_text())["install"]
    versions = {item["metadata"]["name"].lower(): item["metadata"]["version"] for item in installs}
    return versions, done.stderr


def _assert_cpu_torch(versions: dict[str, str]) -> None:
    assert versions["torch"].split("+")[0] == "2.13.0"
    # The CUDA build of torch is recognisable by what it pulls in.
    cuda = [name for name in versions if name.startswith(("nvidia-", "cuda-", "triton"))]
    assert not cuda, f"torch resolved to the CUDA build: {cuda}"


def test_setup_resolves_cpu_torch_and_says_from_where(tmp_path):
    """setup.sh resolves the pinned CPU torch (no nvidia wheels) and names the index it used; an
    unreachable index falls back to the default one, saying so."""
    versions, said = _torch_report(tmp_path)
    _assert_cpu_torch(versions)
    assert "setup.sh: torch from " in said

    versions, said = _torch_report(tmp_path, QUOTEBOT_TORCH_INDEX="http://127.0.0.1:9/whl/cpu")
    # Which build the default index gives depends on the machine (CPU here: a local wheel).
    assert versions["torch"].split("+")[0] == "2.13.0"
    assert "torch index http://127.0.0.1:9/whl/cpu cannot be reached" in said
    assert "setup.sh: torch from the default index" in said


@pytest.mark.timeout(1800)
def test_the_wheel_installed_in_a_new_venv_answers_from_any_folder(tmp_path):
    """`pip install quotebot-*.whl` into a fresh venv, then `quotebot` run from a folder that is
    not the project: it seeds the per-user data folder with the bundled article and config and
    answers a question from it. (Slow: a full install, from pip's cache after setup.sh.)"""
    tree = tmp_path / "tree"  # a clean copy: no stale build/ folder can leak into the wheel
    shutil.copytree(
        PROJECT_ROOT,
        tree,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", ".cache", "build", "dist", "*.egg-info", "__pycache__", "data"
        ),
    )
    build = [sys.executable, "-m", "pip", "wheel", "-qq", "--no-deps", "--no-build-isolation"]
    subprocess.run([*build, "-w", str(tmp_path / "dist"), str(tree)], check=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("quotebot-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    install = [str(venv / "bin" / "python"), "-m", "pip", "install", "-qq"]
    constraints = ["-c", str(PROJECT_ROOT / "constraints.txt")]
    subprocess.run([*install, *constraints, str(wheel)], check=True, timeout=1800)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    user = tmp_path / "user"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QUOTEBOT_", "DISCORD_"))}
    done = subprocess.run(
        [str(venv / "bin" / "quotebot")],
        cwd=elsewhere,
        env={**env, "HOME": str(user), "XDG_DATA_HOME": str(user / "data"), "PYTHONPATH": ""},
        input="Which country supplies Russia with drones?\n",
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "**Putin is banking on Iran for its supply of Shahed drones" in done.stdout
    home = user / "data" / "quotebot"
    assert f"first start in {home}" in done.stderr
    assert (home / "sources" / "putin-needs-xi.txt").is_file()
    assert (home / ".cache" / "quotebot" / "index" / "CURRENT").is_file()
    assert list(elsewhere.iterdir()) == []  # nothing written where it was started
