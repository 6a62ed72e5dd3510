#!/usr/bin/env bash
# Make sure a headless Chromium is installed for the browser tests of the report site
# (tests/reports/test_reports_browser.py). Installs Debian's `chromium` with apt-get when
# /usr/bin/chromium is missing. The tests drive it over its DevTools protocol; nothing is
# downloaded by Python packages.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    echo "Chromium: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi

echo "Chromium not found at /usr/bin/chromium; installing Debian's chromium."
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: apt-get not found. Install Chromium by hand at /usr/bin/chromium." >&2
    exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "error: not root and no sudo; run as root: apt-get update && apt-get install -y chromium" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y --no-install-recommends chromium fonts-liberation

if [ -x /usr/bin/chromium ]; then
    echo "Chromium: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
else
    echo "error: installed chromium but /usr/bin/chromium is missing" >&2
    exit 1
fi
