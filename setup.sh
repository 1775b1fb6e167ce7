#!/usr/bin/env bash
# Creates .venv and installs Quotebot into it; `--dev` adds the test and lint tools.
# torch goes first and pinned: 2.13.0 is the CPU wheel this machine has on disk, while any other
# spec would pull a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")"
extras=""
[ "${1:-}" = "--dev" ] && extras="[dev]"
if ! command -v python3 >/dev/null || ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Quotebot needs Python 3.11 or newer as python3" >&2
  exit 1
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
pip=(.venv/bin/python -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" torch==2.13.0
"${pip[@]}" -c constraints.txt -e ".${extras}"
