"""Installing Quotebot on a fresh machine: the torch build `setup.sh` picks."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

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
