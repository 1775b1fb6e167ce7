#!/usr/bin/env bash
# Creates .venv and installs Quotebot into it; `--dev` adds the test and lint tools.
#
# torch goes first, pinned, and on Linux x86_64 from PyTorch's CPU-only wheel index: PyPI's Linux
# x86_64 torch is the CUDA build, which pulls several GB of nvidia-* wheels Quotebot never uses.
# When that index cannot be reached, torch comes from the default index instead (said on stderr).
# QUOTEBOT_TORCH_INDEX=<url> picks another index; QUOTEBOT_TORCH_INDEX= (empty) the default one.
#
# `--torch-report FILE` installs nothing: it resolves torch as above with
# `pip install --dry-run --report FILE` (metadata only, no wheel download) for the install test.
set -euo pipefail
cd "$(dirname "$0")"
TORCH="torch==2.13.0"
CPU_INDEX="https://download.pytorch.org/whl/cpu"
extras=""
report=""
case "${1:-}" in
  --dev) extras="[dev]" ;;
  --torch-report) report="${2:?--torch-report needs a file name}" ;;
  "") ;;
  *) echo "usage: bash setup.sh [--dev | --torch-report FILE]" >&2; exit 2 ;;
esac
if ! command -v python3 >/dev/null || ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Quotebot needs Python 3.11 or newer as python3" >&2
  exit 1
fi

# The index torch comes from: empty means pip's default (PyPI or the configured mirror).
torch_index() {
  local wanted
  if [ -n "${QUOTEBOT_TORCH_INDEX+set}" ]; then
    wanted="$QUOTEBOT_TORCH_INDEX"
  elif [ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ]; then
    wanted="$CPU_INDEX"
  else
    wanted=""  # macOS, Windows and Linux aarch64: the default index's torch is already CPU-only
  fi
  if [ -n "$wanted" ] && ! python3 - "$wanted" <<'PY' 2>/dev/null; then
import sys, urllib.request
urllib.request.urlopen(sys.argv[1].rstrip("/") + "/torch/", timeout=15).close()
PY
    echo "setup.sh: the torch index $wanted cannot be reached; torch comes from the default index (on Linux x86_64 without a local CPU wheel, that is the multi-GB CUDA build)" >&2
    wanted=""
  fi
  echo "$wanted"
}

index="$(torch_index)"
torch_from=()
if [ -n "$index" ]; then
  torch_from=(--index-url "$index")
  echo "setup.sh: torch from $index" >&2
else
  echo "setup.sh: torch from the default index" >&2
fi

if [ -n "$report" ]; then
  python3 -m pip install -qq --disable-pip-version-check --dry-run --ignore-installed \
    --report "$report" "${torch_from[@]}" "$TORCH"
  exit 0
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
# -qq: pip's warnings about this machine's own configuration are noise to a newcomer; errors
# (a failed or conflicting install) still show, and CI runs `pip check` after.
pip=(.venv/bin/python -m pip install -qq --disable-pip-version-check --no-warn-script-location)
"${pip[@]}" "${torch_from[@]}" "$TORCH"
"${pip[@]}" -c constraints.txt -e ".${extras}"
