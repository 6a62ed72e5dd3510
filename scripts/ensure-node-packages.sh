#!/usr/bin/env bash
# Install the report site's front-end packages (package.json: GOV.UK Frontend, axe-core) into
# node_modules/ with `npm ci`, exactly as package-lock.json pins them, from the npm registry.
# Installs Debian's nodejs and npm first when npm is missing. `make install` calls it only when
# package.json or package-lock.json changed since the last install (node_modules/.installed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v npm >/dev/null 2>&1; then
    echo "npm not found; installing Debian's nodejs and npm."
    bash scripts/apt-install.sh nodejs npm
fi
echo "node $(node --version), npm $(npm --version): npm ci"
npm ci --ignore-scripts --no-audit --no-fund
touch node_modules/.installed
