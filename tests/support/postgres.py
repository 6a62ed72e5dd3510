"""A throwaway PostgreSQL cluster for the test session.

The cluster lives in a private temporary directory, listens only on a Unix socket in that
directory (``listen_addresses = ''``), trusts local connections and trades durability for speed
(``fsync``, ``synchronous_commit`` and ``full_page_writes`` off). It never touches a system
PostgreSQL service.

PostgreSQL refuses to run as root. When the tests run as root, ``initdb`` and ``pg_ctl`` run as
the ``postgres`` OS user (created by Debian's ``postgresql`` package) through ``runuser``; the
tests themselves connect as the ``postgres`` database role, which needs no OS identity over a
trusted socket.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql

INSTALL_HINT = "run `make postgres-server` (it installs Debian's postgresql package)"

_SETTINGS = {
    "listen_addresses": "''",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "log_min_messages": "warning",
    "timezone": "'UTC'",
}


class PostgresUnavailableError(RuntimeError):
    """The PostgreSQL server binaries or the OS user to run them are missing."""


def find_bindir() -> Path | None:
    """Return the newest ``/usr/lib/postgresql/<version>/bin`` holding initdb and pg_ctl.

    Returns:
        The directory, or None when no PostgreSQL server is installed.
    """

    def version(path: str) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", Path(path).parent.name))

    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        path = Path(bindir)
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    return None


class PostgresCluster:
    """A PostgreSQL cluster started from scratch in a temporary directory.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.

    Args:
        bindir: Directory holding ``initdb`` and ``pg_ctl``; found with :func:`find_bindir`
            when None.
        os_user: OS user that owns and runs the cluster when the current user is root.
        settings: postgresql.conf settings over the tests' defaults.
    """

    superuser = "postgres"

    def __init__(
        self,
        bindir: Path | None = None,
        os_user: str = "postgres",
        settings: dict[str, str] | None = None,
    ) -> None:
        found = bindir or find_bindir()
        if found is None:
            raise PostgresUnavailableError(
                "PostgreSQL server binaries (initdb, pg_ctl) not found under "
                f"/usr/lib/postgresql/*/bin: {INSTALL_HINT}."
            )
        self.bindir = found
        # The tests' settings trade durability for speed; a benchmark may want a server's.
        self.settings = {**_SETTINGS, **(settings or {})}
        self.os_user = os_user if os.geteuid() == 0 else None
        self.port = 5432  # only names the socket file inside our private socket directory
        self.base_dir: Path | None = None
        self.running = False
        self.startup_seconds: float | None = None

    # -- paths ---------------------------------------------------------------------------

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory (PGDATA)."""
        return self._base / "data"

    @property
    def socket_dir(self) -> Path:
        """The directory holding the cluster's Unix socket."""
        return self._base / "socket"

    @property
    def log_file(self) -> Path:
        """The server log."""
        return self._base / "server.log"

    @property
    def _base(self) -> Path:
        if self.base_dir is None:
            raise RuntimeError("the cluster has not been started")
        return self.base_dir

    # -- life cycle ----------------------------------------------------------------------

    def start(self) -> PostgresCluster:
        """Create the cluster with initdb and start the server; wait until it accepts connections.

        Returns:
            The cluster itself.

        Raises:
            PostgresUnavailableError: When running as root and the OS user does not exist.
            RuntimeError: When initdb or pg_ctl fails (the message carries their output and the
                server log).
        """
        if self.running:
            return self
        started = time.perf_counter()
        try:
            self._create_and_start()
        except BaseException:
            self.stop()  # leave no directory or half-started server behind
            raise
        self.startup_seconds = time.perf_counter() - started
        return self

    def _create_and_start(self) -> None:
        owner = None
        if self.os_user is not None:
            try:
                owner = pwd.getpwnam(self.os_user)
            except KeyError as exc:
                raise PostgresUnavailableError(
                    f"tests run as root but OS user {self.os_user!r} does not exist to run "
                    f"PostgreSQL: {INSTALL_HINT}."
                ) from exc
        # /tmp rather than $TMPDIR: the postgres user must reach it and the socket path must
        # stay under the ~107-byte limit of Unix socket names.
        parent = "/tmp" if os.path.isdir("/tmp") else None
        self.base_dir = Path(tempfile.mkdtemp(prefix="govuk-kpi-pg-", dir=parent))
        atexit.register(self.stop)
        self.socket_dir.mkdir()
        if owner is not None:
            for path in (self.base_dir, self.socket_dir):
                os.chown(path, owner.pw_uid, owner.pw_gid)

        self._run(
            "initdb",
            "--pgdata",
            str(self.data_dir),
            "--username",
            self.superuser,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
        )
        settings = {**self.settings, "unix_socket_directories": f"'{self.socket_dir}'"}
        settings["port"] = str(self.port)
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# govuk-kpi test cluster\n")
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
        self.running = True  # from here on, stop() must try pg_ctl stop even if start fails
        self._run(
            "pg_ctl",
            "start",
            "--pgdata",
            str(self.data_dir),
            "--log",
            str(self.log_file),
            "--wait",
            "--timeout",
            "60",
        )

    def stop(self) -> None:
        """Stop the server at once (``pg_ctl stop -m immediate``) and remove its directory."""
        if self.base_dir is None:
            return
        if self.running:
            self.running = False
            # A server that died already needs no stopping; its directory goes all the same.
            with contextlib.suppress(RuntimeError):
                self._run("pg_ctl", "stop", "--pgdata", str(self.data_dir), "--mode", "immediate")
        shutil.rmtree(self.base_dir, ignore_errors=True)
        self.base_dir = None

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- databases -----------------------------------------------------------------------

    def url(self, dbname: str = "postgres") -> str:
        """Return the SQLAlchemy URL (psycopg 3 driver) of a database on this cluster."""
        return (
            f"postgresql+psycopg://{self.superuser}@/{dbname}"
            f"?host={self.socket_dir}&port={self.port}"
        )

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        """Open an autocommit psycopg connection to a database on this cluster."""
        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user=self.superuser,
            dbname=dbname,
            autocommit=True,
        )

    def create_database(self, name: str) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, closing any connection still open to it."""
        with self.connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    # -- helpers -------------------------------------------------------------------------

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bindir / program), *args]
        if self.os_user is not None:
            command = ["runuser", "-u", self.os_user, "--", *command]
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("PG") and not key.startswith("LC_")
        }
        env["LANG"] = "C.UTF-8"
        result = subprocess.run(
            command,
            cwd=self._base,  # the postgres user may not be able to enter the caller's cwd
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            log = ""
            if self.log_file.exists():
                log = "\n--- server log ---\n" + self.log_file.read_text(errors="replace")[-4000:]
            raise RuntimeError(
                f"{' '.join(command)} failed with exit status {result.returncode}:\n"
                f"{result.stdout}{result.stderr}{log}"
            )
