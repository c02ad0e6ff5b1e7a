#!/bin/sh
# Make sure Debian's chromium is installed, for the web app's browser tests (tests/test_web_browser.py).
# Idempotent and quiet; if it cannot install, the browser tests fail and say why (they never skip silently).
set -e
command -v chromium >/dev/null 2>&1 && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "ensure-chromium: not root and no sudo; install chromium" >&2; exit 0; }
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null || echo "ensure-chromium: apt-get failed" >&2
