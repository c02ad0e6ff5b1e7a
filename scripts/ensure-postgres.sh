#!/bin/sh
# Make sure PostgreSQL server binaries (initdb, pg_ctl) are installed, for the archive's PostgreSQL tests.
# Idempotent and quiet: does nothing when they are already there.
set -e
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "ensure-postgres: not root and no sudo; install postgresql" >&2; exit 0; }
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
# The Debian package starts a cluster service; the tests start their own servers, so stop it if it runs.
$SUDO service postgresql stop >/dev/null 2>&1 || true
