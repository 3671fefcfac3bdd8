"""How the site sets up its database connections."""

import pytest

from mfasite.extensions import db


def test_connect_sqlite_uses_write_ahead_log(app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        mode = db.session.execute(db.text("PRAGMA journal_mode")).scalar()

    assert mode == "wal"
