"""Create or update Dagster's non-master PostgreSQL user (the stack's ``DbAppUser`` custom resource runs this).

Runs once per deploy as a one-off ECS task with the master and app-user secrets injected
(``MASTER_USERNAME``/``MASTER_PASSWORD``, ``APP_USERNAME``/``APP_PASSWORD``; ``PGHOST``, ``PGPORT``,
``PGDATABASE``). The app user gets what Dagster's PostgreSQL storage needs and no more: it may connect
to the one database and create (hence own, migrate and use) tables in schema ``public``; it is no
superuser, cannot create databases or roles, and other users' objects stay closed to it. Tables a
master-user deployment created before are handed to it. Idempotent: a re-run only resets the password.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from psycopg2 import connect, sql


def bootstrap_statements(app_user: str, app_password: str, database: str, master_user: str) -> list[Any]:
    """The SQL, in order; identifiers and the password are quoted by psycopg2.sql, never formatted in."""
    user, db, master = sql.Identifier(app_user), sql.Identifier(database), sql.Identifier(master_user)
    return [
        sql.SQL(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {name}) THEN "
            "CREATE ROLE {user} LOGIN; END IF; END $$"
        ).format(name=sql.Literal(app_user), user=user),
        sql.SQL(
            "ALTER ROLE {user} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD {pw}"
        ).format(user=user, pw=sql.Literal(app_password)),
        # the master may hand objects to the app user (ALTER ... OWNER needs membership)
        sql.SQL("GRANT {user} TO {master}").format(user=user, master=master),
        sql.SQL("REVOKE ALL ON DATABASE {db} FROM PUBLIC").format(db=db),
        sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {user}").format(db=db, user=user),
        sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"),
        sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {user}").format(user=user),
    ]


def hand_over_existing_tables(cursor: Any, app_user: str) -> int:
    """Tables, views and sequences in ``public`` another user owns (a master-user deployment's) become the app user's.

    Tables first: that also moves their serial columns' sequences, which PostgreSQL refuses to move alone.
    """
    kinds = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "S": "SEQUENCE"}
    handed = 0
    for relkinds in (["r", "p", "v"], ["S"]):
        cursor.execute(
            "SELECT c.relkind, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = ANY(%s) AND pg_get_userbyid(c.relowner) <> %s",
            (relkinds, app_user),
        )
        for kind, name in cursor.fetchall():
            cursor.execute(
                sql.SQL("ALTER {kind} public.{name} OWNER TO {user}").format(
                    kind=sql.SQL(kinds[kind]), name=sql.Identifier(name), user=sql.Identifier(app_user)
                )
            )
            handed += 1
    return handed


def bootstrap(env: Mapping[str, str]) -> int:
    """Apply the statements as the master user; returns how many existing objects were handed over."""
    database = env["PGDATABASE"]
    connection = connect(
        host=env["PGHOST"],
        port=int(env.get("PGPORT", "5432")),
        dbname=database,
        user=env["MASTER_USERNAME"],
        password=env["MASTER_PASSWORD"],
        sslmode=env.get("PGSSLMODE", "require"),
    )
    try:
        with connection, connection.cursor() as cursor:
            for statement in bootstrap_statements(
                env["APP_USERNAME"], env["APP_PASSWORD"], database, env["MASTER_USERNAME"]
            ):
                cursor.execute(statement)
            return hand_over_existing_tables(cursor, env["APP_USERNAME"])
    finally:
        connection.close()


def main() -> int:
    handed = bootstrap(os.environ)
    print(f"database user {os.environ['APP_USERNAME']} ready; {handed} existing object(s) handed over")
    return 0


if __name__ == "__main__":
    sys.exit(main())
