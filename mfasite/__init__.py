"""mfasite: a sign-in site where every password account has a second factor."""

import logging
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from . import errors, headers, messages
from .config import load_config
from .extensions import csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides=None):
    """Build the application; overrides win over the environment (for tests)."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    load_config(app, overrides)
    _configure_logging(app)

    db.init_app(app)
    _use_sqlite_wal(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.signin"
    login_manager.login_message = messages.SIGNIN_REQUIRED
    login_manager.login_message_category = "info"

    from . import models, sessions  # noqa: F401  (registers the user loader)
    from .account import bp as account_bp
    from .auth import bp as auth_bp
    from .cli import mfa_cli, users_cli
    from .enforcement import enforce_mfa
    from .security import bp as security_bp
    from .sms import init_app as init_sms

    app.register_blueprint(account_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(security_bp)
    init_sms(app)
    app.before_request(enforce_mfa)
    app.cli.add_command(users_cli)
    app.cli.add_command(mfa_cli)

    _register_template_context(app)
    errors.register(app)
    app.after_request(headers.secure_headers)
    _trust_proxies(app)
    return app


def _use_sqlite_wal(app):
    """Give an SQLite database a write-ahead log.

    A commit then appends to the log instead of writing and deleting a
    rollback journal, and readers in other gunicorn workers no longer wait
    for a writer. Commits stay durable: synchronous keeps its default, FULL.
    """
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _write_ahead_log)


def _write_ahead_log(dbapi_connection, connection_record):
    dbapi_connection.execute("PRAGMA journal_mode=WAL")


def _configure_logging(app):
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )


def _register_template_context(app):
    from flask import g

    @app.context_processor
    def inject():
        return {
            "site_name": app.config["SITE_NAME"],
            "signup_enabled": app.config["SIGNUP_ENABLED"],
            "mfa_nag_left": g.get("mfa_nag_left"),
            "mfa_blocked": g.get("mfa_blocked", False),
        }


def _trust_proxies(app):
    """Read the client address and scheme from the configured number of proxies."""
    count = app.config["PROXY_COUNT"]
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
