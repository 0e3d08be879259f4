#!/usr/bin/env bash
# Set up, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# One pytest process per core, at most four (pytest-xdist; each one collects the whole suite
# and may start its own PostgreSQL, so more would cost more than they give), a test file's
# tests together in one of them, so a file's module fixtures (a rendered round, a server) are
# made once. `-n 0` among the arguments runs everything in this process (the last -n given
# wins), for -x/--pdb sessions.
processes=$(nproc 2>/dev/null || echo 1)
[ "$processes" -gt 4 ] && processes=4
exec .venv/bin/python -m pytest -q -n "$processes" --dist loadfile "$@"
