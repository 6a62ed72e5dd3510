#!/usr/bin/env bash
# Install Debian packages with apt-get, as root or through sudo: `apt-install.sh PKG...`.
# Shared by ensure-postgres.sh and ensure-chromium.sh, which call it only when a tool is missing.
set -euo pipefail

if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: apt-get not found; install by hand: $*" >&2
    exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo=(sudo)
    else
        echo "error: not root and no sudo; run as root: apt-get update && apt-get install -y $*" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y --no-install-recommends "$@"
