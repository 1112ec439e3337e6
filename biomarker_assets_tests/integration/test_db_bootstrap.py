"""The non-master database user the stack's DbAppUser creates (``deploy/db_bootstrap.py``), on a real PostgreSQL.

The app user must be able to do everything Dagster's PostgreSQL storage does (create its tables,
migrate them, read and write runs and events) and nothing a master user can: no superuser, no new
databases or roles, no objects of other users.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
import psycopg2
import pytest
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

from biomarker_assets.deploy.db_bootstrap import bootstrap
from biomarker_assets_tests.support.postgres import Postgres, postgres_server

APP_USER, APP_PASSWORD = "dagster_app", "app-secret-0123456789"


@pytest.fixture(scope="module")
def pg() -> Iterator[Postgres]:
    with postgres_server() as server:
        yield server


def _env(pg: Postgres, password: str = APP_PASSWORD) -> dict[str, str]:
    return {
        "PGHOST": pg.host,
        "PGPORT": str(pg.port),
        "PGDATABASE": pg.db_name,
        "PGSSLMODE": "disable",  # the test server has no TLS; RDS gets the default, require
        "MASTER_USERNAME": pg.user,
        "MASTER_PASSWORD": pg.password,
        "APP_USERNAME": APP_USER,
        "APP_PASSWORD": password,
    }


@contextmanager
def _connect(pg: Postgres, user: str, password: str) -> Iterator[Any]:
    """An autocommit connection (psycopg2's own ``with connection`` would open a transaction)."""
    connection = psycopg2.connect(host=pg.host, port=pg.port, dbname=pg.db_name, user=user, password=password)
    connection.autocommit = True
    try:
        yield connection
    finally:
        connection.close()


def _url(pg: Postgres, user: str = APP_USER, password: str = APP_PASSWORD) -> str:
    return f"postgresql+psycopg2://{user}:{password}@{pg.host}:{pg.port}/{pg.db_name}"


def test_app_user_runs_dagsters_storage_and_nothing_more(pg: Postgres) -> None:
    # a table a master-user deployment created before: handed to the app user
    with _connect(pg, pg.user, pg.password) as master, master.cursor() as cursor:
        cursor.execute("CREATE TABLE legacy_runs (id serial)")  # and its sequence, which moves with it
        cursor.execute("CREATE SEQUENCE legacy_counter")
    assert bootstrap(_env(pg)) == 2

    # what Dagster's storage does at start: create (and later migrate) its tables, then read and write
    runs = PostgresRunStorage(_url(pg))
    PostgresEventLogStorage(_url(pg))
    PostgresScheduleStorage(_url(pg))
    runs.add_run(dg.DagsterRun(job_name="process_data_file", run_id="r1"))
    assert [r.run_id for r in runs.get_runs()] == ["r1"]

    with _connect(pg, APP_USER, APP_PASSWORD) as app, app.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False, False)
        cursor.execute("SELECT tableowner FROM pg_tables WHERE tablename IN ('legacy_runs', 'runs') ORDER BY 1")
        assert cursor.fetchall() == [(APP_USER,), (APP_USER,)]
        cursor.execute("SELECT DISTINCT sequenceowner FROM pg_sequences WHERE sequencename LIKE 'legacy%'")
        assert cursor.fetchall() == [(APP_USER,)]
        cursor.execute("ALTER TABLE legacy_runs ADD COLUMN note text")  # a migration on a handed-over table
        for forbidden in ["CREATE DATABASE other", "CREATE ROLE intruder", "ALTER ROLE dagster_app SUPERUSER"]:
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cursor.execute(forbidden)


def test_other_users_objects_stay_closed_and_a_rerun_only_resets_the_password(pg: Postgres) -> None:
    with _connect(pg, pg.user, pg.password) as master, master.cursor() as cursor:
        cursor.execute("CREATE SCHEMA admin_only")
        cursor.execute("CREATE TABLE admin_only.secrets (v text)")
    bootstrap(_env(pg))
    with (
        _connect(pg, APP_USER, APP_PASSWORD) as app,
        app.cursor() as cursor,
        pytest.raises(psycopg2.errors.InsufficientPrivilege),
    ):
        cursor.execute("SELECT * FROM admin_only.secrets")

    before = _password_hash(pg)
    assert bootstrap(_env(pg, password="rotated-9876543210")) == 0  # idempotent; nothing left to hand over
    assert _password_hash(pg) not in (before, None)  # the test server trusts local logins: compare the stored hash
    assert PostgresRunStorage(_url(pg, password="rotated-9876543210")).get_runs()[0].run_id == "r1"


def _password_hash(pg: Postgres) -> str | None:
    with _connect(pg, pg.user, pg.password) as master, master.cursor() as cursor:
        cursor.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (APP_USER,))
        return cursor.fetchone()[0]
