"""Many accounts fast: rows inserted with SQLAlchemy core, sharing one Argon2 hash."""

import os
import time
from datetime import timedelta

from flask_migrate import upgrade
from sqlalchemy import insert

from mfasite import clock, create_app, passwords
from mfasite.extensions import db
from mfasite.mfa import crypto
from mfasite.models import (
    RecoveryCode,
    SecurityEvent,
    SmsDevice,
    TotpDevice,
    User,
    WebAuthnCredential,
)

from . import common

BACKUP_CODES = 10
# Users per INSERT batch: big enough to be fast, small enough to stay in memory.
BATCH = 1000
_EVENT_KINDS = ("signin", "signout", "signin_failed_password", "second_factor_failed")


def create_schema(config):
    """Migrate an empty database to the current schema, as `flask db upgrade` does."""
    app = create_app(config)
    with app.app_context():
        upgrade(directory=str(_migrations()))


def _migrations():
    from mfasite import ROOT

    return ROOT / "migrations"


class _Rows:
    """The rows of one batch of users, table by table."""

    def __init__(self, shared):
        self.shared = shared
        self.tables = {
            model: []
            for model in (
                User,
                TotpDevice,
                SmsDevice,
                WebAuthnCredential,
                RecoveryCode,
                SecurityEvent,
            )
        }

    def add_user(self, user_id, events):
        now = self.shared["now"]
        method = common.method_of(user_id)
        enrolled = method != common.METHOD_NONE
        self.tables[User].append(
            {
                "id": user_id,
                "email": common.email(user_id),
                "password_hash": self.shared["password_hash"],
                "created_at": now - timedelta(days=120),
                "preferred_method": method if enrolled else None,
                "signins_without_mfa": 0,
                "webauthn_user_id": os.urandom(32) if method == "webauthn" else None,
            }
        )
        if enrolled:
            self._add_method(user_id, method, now)
            self.tables[RecoveryCode].extend(
                {"user_id": user_id, "code_hmac": code, "created_at": now}
                for code in self.shared["backup_hmacs"]
            )
        start = now - timedelta(days=events)
        self.tables[SecurityEvent].extend(
            {
                "user_id": user_id,
                "kind": _EVENT_KINDS[n % len(_EVENT_KINDS)],
                "created_at": start + timedelta(days=n, seconds=user_id % 86400),
                "ip": "127.0.0.1",
                "detail": None,
            }
            for n in range(events)
        )

    def _add_method(self, user_id, method, now):
        if method == "totp":
            secret = crypto.encrypt(common.totp_secret(user_id))
            self.tables[TotpDevice].append(
                {
                    "user_id": user_id,
                    "secret_encrypted": secret,
                    "created_at": now,
                    "confirmed_at": now,
                    "last_used_step": None,
                }
            )
        elif method == "sms":
            self.tables[SmsDevice].append(
                {
                    "user_id": user_id,
                    "phone_e164": f"+1555{user_id % 10_000_000:07d}",
                    "created_at": now,
                    "confirmed_at": now,
                    "code_hmac": None,
                    "code_expires_at": None,
                    "code_attempts": 0,
                }
            )
        else:
            self.tables[WebAuthnCredential].append(
                {
                    "user_id": user_id,
                    "credential_id": os.urandom(32),
                    # Never verified in the benchmark: only the row's size matters.
                    "public_key": os.urandom(77),
                    "sign_count": 0,
                    "transports": "usb",
                    "nickname": "Security key",
                    "created_at": now,
                    "last_used_at": None,
                }
            )

    def insert(self, conn):
        for model, rows in self.tables.items():
            if rows:
                conn.execute(insert(model.__table__), rows)


def seed(config, users, events_per_user):
    """Create the schema and `users` accounts; return the seconds it took."""
    started = time.perf_counter()
    create_schema(config)

    app = create_app(config)
    with app.app_context():
        shared = {
            "now": clock.now(),
            # One hash for everyone: hashing 100,000 passwords would take hours.
            "password_hash": passwords.hash_password(common.PASSWORD),
            "backup_hmacs": [
                crypto.code_hmac(f"bench{n:03d}") for n in range(BACKUP_CODES)
            ],
        }
        with db.engine.begin() as conn:
            for first in range(1, users + 1, BATCH):
                rows = _Rows(shared)
                for user_id in range(first, min(first + BATCH, users + 1)):
                    rows.add_user(user_id, events_per_user)
                rows.insert(conn)
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            ) as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        else:
            with db.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        db.engine.dispose()
    return time.perf_counter() - started
