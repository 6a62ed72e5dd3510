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
bash "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh" chromium fonts-liberation

if [ -x /usr/bin/chromium ]; then
    echo "Chromium: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
else
    echo "error: installed chromium but /usr/bin/chromium is missing" >&2
    exit 1
fi
