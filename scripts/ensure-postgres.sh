#!/usr/bin/env bash
# Make sure PostgreSQL server binaries (initdb, pg_ctl) are installed. The tests start a
# throwaway cluster of their own from these binaries; no system service is needed or touched.
# Installs Debian's `postgresql` package with apt-get when they are missing.
set -euo pipefail

find_bindir() {
    local dir
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

if bindir=$(find_bindir); then
    echo "PostgreSQL server binaries: $bindir ($("$bindir/pg_ctl" --version))"
    exit 0
fi

echo "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; installing Debian's postgresql."
bash "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh" postgresql

if bindir=$(find_bindir); then
    echo "PostgreSQL server binaries: $bindir ($("$bindir/pg_ctl" --version))"
else
    echo "error: installed postgresql but found no initdb/pg_ctl under /usr/lib/postgresql/*/bin" >&2
    exit 1
fi
