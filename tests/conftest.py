"""Fixtures shared by every test.

``db_url`` runs a test once per database backend: SQLite in a file, and PostgreSQL in a fresh
database on a throwaway cluster started once per session. Restrict the backends with
``GOVUK_KPI_TEST_BACKENDS`` (comma-separated, default ``sqlite,postgresql``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.backends import BACKENDS_ENV, selected_backends
from support.postgres import INSTALL_HINT, PostgresCluster, PostgresUnavailableError


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster for the whole session, stopped and removed at the end.

    Fails (never skips) every PostgreSQL test when the server binaries are missing.
    """
    problem = None
    cluster = None
    try:
        cluster = PostgresCluster().start()
    except PostgresUnavailableError as exc:
        problem = f"{exc}\nTo run only the SQLite tests meanwhile: {BACKENDS_ENV}=sqlite."
    except RuntimeError as exc:
        problem = f"could not start the test PostgreSQL cluster ({INSTALL_HINT}):\n{exc}"
    if cluster is None:
        pytest.fail(problem, pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=selected_backends())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """SQLAlchemy URL of an empty database, once per backend (test ids ``sqlite``, ``postgresql``).

    SQLite: a file in the test's ``tmp_path``. PostgreSQL: a new database on the session's
    cluster, dropped after the test (open connections are closed by force).
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/warehouse.db"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    name = f"t_{uuid.uuid4().hex}"
    url = cluster.create_database(name)
    try:
        yield url
    finally:
        cluster.drop_database(name)


@pytest.fixture(scope="session", params=selected_backends())
def sample_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A whole sample warehouse (13 months), built once per backend for read-only tests."""
    from govuk_kpi.sample.build import build_sample

    folder = tmp_path_factory.mktemp(f"sample-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{folder}/warehouse.db"
    else:
        cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
        url = cluster.create_database(f"sample_{uuid.uuid4().hex}")
    build_sample(url, out_dir=folder / "generated")
    yield url
