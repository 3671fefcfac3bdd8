"""`flask db upgrade` on SQLite and PostgreSQL, and models that match migrations."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from mfasite import create_app
from mfasite.extensions import db

ROOT = Path(__file__).resolve().parent.parent
PREVIOUS = "0001"
HEAD = "0002"


def _postgres_url():
    url = os.environ.get("TEST_DATABASE_URL", "")
    return url if url.startswith("postgresql") else None


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    """The URL of a database with no tables, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return

    url = _postgres_url()
    if url is None:
        pytest.skip("TEST_DATABASE_URL is not a PostgreSQL URL")
    server, name = url.rsplit("/", 1)
    scratch = f"{name}_migrations"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{scratch}"')
    yield f"{server}/{scratch}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


def _flask_db(url, base_config, *args):
    """Run `flask --app wsgi db ...` as an operator would, against url."""
    env = {
        **os.environ,
        "MFASITE_ENV": "development",
        "DATABASE_URL": url,
        "SECRET_KEY": base_config["SECRET_KEY"],
        "MFA_ENCRYPTION_KEYS": base_config["MFA_ENCRYPTION_KEYS"],
        "MFA_HMAC_KEY": base_config["MFA_HMAC_KEY"],
    }
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def _engine(url):
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def _revision(url):
    engine = _engine(url)
    with engine.connect() as connection:
        revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
    engine.dispose()
    return revision


def _differences(url, base_config):
    """What autogenerate would add to make the database match the models."""
    app = create_app({**base_config, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True}
            )
            differences = compare_metadata(context, db.metadata)
        db.engine.dispose()
    return differences


def test_upgrade_from_an_empty_database_matches_the_models(empty_database, base_config):
    _flask_db(empty_database, base_config, "upgrade")

    assert _revision(empty_database) == HEAD
    assert _differences(empty_database, base_config) == []


def test_upgrade_from_the_previous_schema_keeps_sessions(empty_database, base_config):
    _flask_db(empty_database, base_config, "upgrade", PREVIOUS)
    engine = _engine(empty_database)
    with engine.begin() as connection:
        connection.execute(
            text(
                'INSERT INTO "user" (id, email, password_hash, created_at, '
                "signins_without_mfa) VALUES (1, 'old@example.com', 'x', "
                "'2026-01-01 00:00:00', 0)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO user_session (id, user_id, created_at, last_seen_at, "
                "authenticated_at) VALUES ('old-session', 1, '2026-01-01 00:00:00', "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )

    _flask_db(empty_database, base_config, "upgrade")

    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT user_id, remembered FROM user_session")
        ).one()
    engine.dispose()
    assert tuple(row) == (1, False)
    assert _revision(empty_database) == HEAD
    assert _differences(empty_database, base_config) == []


def test_downgrade_to_the_previous_schema_and_back(empty_database, base_config):
    _flask_db(empty_database, base_config, "upgrade")

    _flask_db(empty_database, base_config, "downgrade", PREVIOUS)
    assert _revision(empty_database) == PREVIOUS
    _flask_db(empty_database, base_config, "upgrade")

    assert _differences(empty_database, base_config) == []
