"""Run the whole suite on SQLite, then on PostgreSQL with Redis, and sum it up.

`./dev test` calls this. Extra arguments go to both pytest runs. Set
MFASITE_TEST_BACKENDS=sqlite to run one backend only while developing.
"""

import os
import re
import subprocess
import sys

import psycopg

PG_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
PG_TEST_DB = "mfasite_test"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

_SUMMARY = re.compile(r"(\d+) (passed|failed|error|errors|skipped)")


def ensure_postgres_database():
    """Create the test database on the local PostgreSQL server if it is missing."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (PG_TEST_DB,)
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{PG_TEST_DB}"')
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_TEST_DB}"


def run(name, env_extra, args):
    print(f"\n===== {name} =====", flush=True)
    env = {**os.environ, **env_extra}
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    last = ""
    for line in process.stdout:
        sys.stdout.write(line)
        if line.strip():
            last = line
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for number, word in _SUMMARY.findall(last):
        key = "failed" if word in {"failed", "error", "errors"} else word
        counts[key] += int(number)
    return process.wait(), counts


def main(args):
    backends = os.environ.get("MFASITE_TEST_BACKENDS", "sqlite,postgres").split(",")
    results = []

    if "sqlite" in backends:
        results.append(run("SQLite, in-process rate limits", {}, args))
    if "postgres" in backends:
        url = ensure_postgres_database()
        env = {"TEST_DATABASE_URL": url, "TEST_REDIS_URL": REDIS_URL}
        results.append(run("PostgreSQL and Redis", env, args))

    totals = {"passed": 0, "failed": 0, "skipped": 0}
    for _, counts in results:
        for key in totals:
            totals[key] += counts[key]
    ok = all(code == 0 for code, _ in results) and totals["passed"] > 0

    print(
        f"\nall backends: {totals['passed']} passed, {totals['failed']} failed, "
        f"{totals['skipped']} skipped"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
