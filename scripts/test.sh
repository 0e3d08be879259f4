#!/usr/bin/env bash
# Set up, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# One pytest process per core (pytest-xdist), a test file's tests together in one of them, so a
# file's module fixtures (a rendered round, a server) are made once. `-n 0` among the arguments
# runs everything in this process (the last -n given wins), for -x/--pdb sessions.
exec .venv/bin/python -m pytest -q -n auto --dist loadfile "$@"
