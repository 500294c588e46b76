#!/usr/bin/env bash
# Make a venv with PyTorch and the peer FLOP counters at the versions the fixtures were measured
# with, for scripts/peers/run_peers.py. Touches no other venv: it only ever runs the pip of the
# venv it creates (never a bare `pip`), and refuses a folder that it did not make itself.
#
#   bash scripts/peers/setup.sh [--deepspeed] [VENV]      (VENV defaults to .venv-peers)
#   . VENV/bin/activate && python scripts/peers/run_peers.py scripts/peers/models.py:smoke -o /tmp/s.json
#
# torch==2.13.0 must resolve to the CPU wheel on this machine's disk (pip's find-links); a bare
# `torch` would pull a multi-GB CUDA build, so the script checks the result and stops otherwise.
# torchvision 0.28.0 comes from PyPI with --no-deps (its compiled ops do not load beside the CPU
# torch; the model definitions do, see models.py). calflops 0.3.2 imports transformers at import
# time without declaring it, so transformers is installed too. This checkout of convcalc is
# installed (editable) for the factories that export its specs (models.py:examples, :kinds). --deepspeed adds DeepSpeed 0.19.8,
# built with DS_BUILD_OPS=0 (no CUDA/C++ ops) and --no-build-isolation (its setup.py imports torch).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
deepspeed=0
venv=""
for arg in "$@"; do
  case "$arg" in
    --deepspeed) deepspeed=1 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "unknown option: $arg" >&2; exit 2 ;;
    *) venv="$arg" ;;
  esac
done
venv="${venv:-$root/.venv-peers}"
marker="$venv/.convcalc-peers"

if [ -e "$venv" ] && [ ! -e "$marker" ]; then
  echo "$venv exists and was not made by this script; give another folder" >&2
  exit 1
fi
if [ ! -e "$venv" ]; then
  python3 -m venv "$venv"
  echo "made by scripts/peers/setup.sh" > "$marker"
fi
pip=("$venv/bin/python" -m pip)
constraints=(-c "$here/constraints.txt")

"${pip[@]}" install -q "${constraints[@]}" torch==2.13.0 numpy pillow
"$venv/bin/python" - <<'EOF'
import torch, sys
if not torch.__version__.endswith("+cpu"):
    sys.exit(f"torch {torch.__version__} is not the CPU build; stop before anything else is built on it")
print("torch", torch.__version__)
EOF
"${pip[@]}" install -q --no-deps torchvision==0.28.0
"${pip[@]}" install -q "${constraints[@]}" \
  ptflops==0.7.5 fvcore==0.1.5.post20221221 thop==0.1.1.post2209072238 torchinfo==1.8.0 \
  calflops==0.3.2 transformers==5.24.0
# convcalc itself (this checkout, editable): models.py:examples and :kinds export its specs
"${pip[@]}" install -q "${constraints[@]}" -e "$root"
if [ "$deepspeed" = 1 ]; then
  DS_BUILD_OPS=0 "${pip[@]}" install -q --no-build-isolation "${constraints[@]}" deepspeed==0.19.8
fi
"$venv/bin/python" - <<'EOF'
import importlib.metadata as md
for dist in ("torch", "torchvision", "ptflops", "fvcore", "thop", "torchinfo", "calflops", "deepspeed"):
    try:
        print(f"{dist:12} {md.version(dist)}")
    except md.PackageNotFoundError:
        print(f"{dist:12} (not installed)")
EOF
