#!/usr/bin/env bash
# Set up, then generate, evaluate and report a realistic demo district round into ./demo-out.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/agrade demo --out "${1:-demo-out}" "${@:2}"
