"""A fresh database for each level: a SQLite file, or a PostgreSQL database."""

from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import redis

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def check_loopback(url):
    """The benchmark only ever talks to a server on this machine."""
    host = urlsplit(url).hostname
    if host not in LOOPBACK:
        raise SystemExit(f"refusing a database that is not on loopback: {host}")


def _admin_url(url):
    return url.rsplit("/", 1)[0] + "/postgres"


def _name(url):
    return urlsplit(url).path.lstrip("/")


def fresh(kind, pg_url, workdir, level):
    """Return the URL of an empty database for one level, replacing any old one."""
    if kind == "sqlite":
        path = Path(workdir) / f"bench-{level}.sqlite3"
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
        return f"sqlite:///{path}"

    check_loopback(pg_url)
    name = _name(pg_url)
    with psycopg.connect(_admin_url(pg_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_url


def drop(kind, url):
    """Remove what fresh() made."""
    if kind == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        for leftover in path.parent.glob(path.name + "*"):
            leftover.unlink()
        return
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{_name(url)}" WITH (FORCE)')


def backend_pids(kind, url):
    """PostgreSQL processes serving the benchmark's database (none for SQLite)."""
    if kind != "postgres" or url is None:
        return []
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [pid for (pid,) in rows]


def empty_redis(url):
    """Forget the rate-limit counters of earlier runs: the database is the bench's."""
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
