#!/usr/bin/env bash
# Install everything agrade needs on a fresh Debian machine (run as root), into ./.venv.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: a CJK font (or PDFs show empty boxes), harfbuzz's subsetter (without it
# WeasyPrint spends seconds per PDF subsetting the CJK font), Pango for WeasyPrint,
# poppler-utils for the tests that read PDFs back, gcc for durable-rules' C extension,
# Debian's PostgreSQL server for the round store's tests (they run on SQLite and on a real
# PostgreSQL: scripts/postgres.sh starts a throwaway one on 127.0.0.1 and stops it).
APT_PACKAGES="fonts-noto-cjk libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 poppler-utils gcc python3-dev postgresql"
missing=""
for p in $APT_PACKAGES; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "agrade setup: installing$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Debian's postgresql would create and start a default cluster on port 5432 and leave it
  # running; the tests start their own servers, so ask for none.
  case "$missing " in *" postgresql "*)
    mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/agrade.conf ;;
  esac
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# Python 3.11: durable-rules does not import on 3.13.
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for c in python3.11 python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
      PY="$c"; break
    fi
  done
fi
[ -n "$PY" ] || { echo "agrade setup: Python 3.11 is required (durable-rules does not import on 3.13)" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.agrade-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e '.[test]'
  touch "$stamp"
fi
