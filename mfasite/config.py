"""Settings: safe development defaults, each overridable by an environment variable."""

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet


class Defaults:
    """Every setting the site reads; an environment variable of the same name wins."""

    SITE_NAME = "mfasite"
    SECRET_KEY = None  # generated into the instance folder when unset
    SQLALCHEMY_DATABASE_URI = None  # SQLite in the instance folder when unset
    # Comma-separated Fernet keys, newest first; old keys still decrypt.
    MFA_ENCRYPTION_KEYS = None
    # Key for the HMACs that stand in for backup and SMS codes in the database.
    MFA_HMAC_KEY = None

    SIGNUP_ENABLED = True
    # How many sign-ins an account without MFA gets before MFA is required.
    MFA_GRACE_SIGNINS = 1
    # One method at a time is the documented product; this allows several.
    MFA_ALLOW_MULTIPLE = False
    # Changing MFA needs a full sign-in or re-authentication this recent.
    REAUTH_MAX_AGE = 15 * 60
    PENDING_SIGNIN_TTL = 10 * 60
    MAX_CODE_ATTEMPTS = 5
    BACKUP_CODE_COUNT = 10

    PASSWORD_MIN_LENGTH = 8
    PASSWORD_MAX_LENGTH = 128
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 64 * 1024  # KiB
    ARGON2_PARALLELISM = 1

    SESSION_IDLE_TIMEOUT = 30 * 60
    SESSION_ABSOLUTE_LIFETIME = 12 * 60 * 60
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    SESSION_COOKIE_NAME = "session"
    # "Keep me signed in", offered after the second factor: no idle timeout,
    # ended by sign-out, "Sign out everywhere" and an MFA reset like any session.
    REMEMBER_LIFETIME = 30 * 24 * 60 * 60
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    REMEMBER_COOKIE_NAME = "remember_token"

    # "development" or "production"; production refuses to start half-configured.
    MFASITE_ENV = "development"
    # Proxies in front of the site whose X-Forwarded-* headers are trusted.
    PROXY_COUNT = 0
    # Strict-Transport-Security max-age; 0 sends no header (plain-http development).
    HSTS_SECONDS = 0

    # Rate limits (Flask-Limiter strings). Storage is per process in development;
    # several processes or instances need Redis: redis://host:6379/0.
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI = "memory://"
    SIGNIN_IP_LIMIT = "10 per minute"
    # Wrong passwords per account, on sign-in, re-authentication and password change.
    PASSWORD_FAILURE_LIMIT = "20 per hour"
    SIGNUP_IP_LIMIT = "10 per hour"
    CODE_ENTRY_IP_LIMIT = "30 per minute"
    # Codes checked per account across every method and pending sign-in.
    SECOND_FACTOR_LIMIT = "100 per day"
    # Texts one signed-in user may ask for, to any numbers.
    SMS_SEND_LIMIT = "10 per hour"
    WEBHOOK_IP_LIMIT = "120 per minute"

    # CSRFProtect reads the token from this header on HTMX requests.
    WTF_CSRF_HEADERS = ["X-CSRFToken"]
    # The token lives as long as the session; pages left open stay usable.
    WTF_CSRF_TIME_LIMIT = None

    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    # A development instance: enables the SMS console backend and its outbox page.
    # `./dev serve` turns it on; a production instance leaves it off.
    DEVELOPMENT = False
    # The site's address as the internet sees it; Twilio signs webhooks with it.
    PUBLIC_BASE_URL = None

    # SMS: "auto" picks Twilio when it is configured, else the console backend
    # in development, else no SMS at all. "twilio", "console" or "none" force one.
    SMS_BACKEND = "auto"
    TWILIO_ACCOUNT_SID = None
    TWILIO_AUTH_TOKEN = None
    TWILIO_FROM_NUMBER = None
    TWILIO_MESSAGING_SERVICE_SID = None
    TWILIO_TIMEOUT = 10.0  # seconds for each request to the Twilio API
    SMS_CODE_TTL = 10 * 60
    # Messages to one number per rolling hour, whoever asks: caps the bill.
    SMS_HOURLY_CAP_PER_NUMBER = 5
    # NANP regions accepted for enrollment (e.g. "US,CA"); empty accepts all of +1.
    SMS_ALLOWED_REGIONS = []
    SMS_PROGRAM_NAME = None  # defaults to "<SITE_NAME> sign-in codes"
    # The number users text HELP, STOP or START to; defaults to TWILIO_FROM_NUMBER.
    SMS_PROGRAM_NUMBER = None
    SMS_SUPPORT_CONTACT = None  # an email address or URL for the HELP reply
    # Turn off when the Twilio account already answers HELP, STOP and START.
    SMS_WEBHOOK_REPLIES = True
    # Security keys are bound to the relying party id (a host name) and only
    # answer pages on the exact origin. Unset, both come from PUBLIC_BASE_URL,
    # or are http://localhost:5000 for development.
    WEBAUTHN_RP_ID = None
    WEBAUTHN_ORIGIN = None
    WEBAUTHN_RP_NAME = None  # SITE_NAME when unset
    # "discouraged" suits a second factor: the password is the first. Set
    # "preferred" or "required" to ask keys for a PIN or biometric too.
    WEBAUTHN_USER_VERIFICATION = "discouraged"
    WEBAUTHN_CHALLENGE_TTL = 5 * 60
    # How long the browser waits for the key, in milliseconds (a hint).
    WEBAUTHN_TIMEOUT_MS = 2 * 60 * 1000
    # A key's answer is a few kilobytes; larger bodies are refused unread.
    WEBAUTHN_MAX_BODY = 16 * 1024


class Production:
    """What MFASITE_ENV=production changes; environment variables still win."""

    SESSION_COOKIE_SECURE = True
    # __Host- cookies are refused by browsers unless Secure, host-only and Path=/.
    SESSION_COOKIE_NAME = "__Host-session"
    REMEMBER_COOKIE_SECURE = True
    REMEMBER_COOKIE_NAME = "__Host-remember"
    HSTS_SECONDS = 365 * 24 * 60 * 60
    PREFERRED_URL_SCHEME = "https"


def _parse(raw, default):
    """Read an environment string as the type of the setting's default."""
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, list):
        return [item.strip() for item in raw.split(",") if item.strip()]
    return raw


def _instance_secret(instance_path, name, make):
    """Return a secret kept in the instance folder, creating it on first use."""
    path = Path(instance_path) / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(make())
    return path.read_text().strip()


def _apply(config, source):
    for key in dir(source):
        if key.isupper():
            config[key] = getattr(source, key)


def load_config(app, overrides=None):
    """Fill app.config from defaults, the environment, then explicit overrides."""
    overrides = overrides or {}
    _apply(app.config, Defaults)
    environment = overrides.get(
        "MFASITE_ENV", os.environ.get("MFASITE_ENV", Defaults.MFASITE_ENV)
    )
    if environment == "production":
        _apply(app.config, Production)

    for key in list(app.config):
        if key.isupper() and key in os.environ:
            app.config[key] = _parse(os.environ[key], app.config[key])

    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]

    app.config.update(overrides)
    if app.config["MFASITE_ENV"] == "production":
        _refuse_incomplete_production(app.config)
    _fill_generated_defaults(app)


def _refuse_incomplete_production(config):
    """Stop at start-up rather than run production on development fallbacks.

    Without these an instance would invent secrets of its own or count rate
    limits in its own memory, and instances would not agree with each other.
    """
    present = {
        "SECRET_KEY": config["SECRET_KEY"],
        "MFA_ENCRYPTION_KEYS": config["MFA_ENCRYPTION_KEYS"],
        "MFA_HMAC_KEY": config["MFA_HMAC_KEY"],
        "DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "RATELIMIT_STORAGE_URI": not config["RATELIMIT_STORAGE_URI"].startswith(
            "memory"
        ),
    }
    missing = [name for name, value in present.items() if not value]
    if missing:
        raise RuntimeError(
            "MFASITE_ENV=production needs these settings: " + ", ".join(missing)
        )


def _fill_generated_defaults(app):
    """Give a development instance its own secrets and SQLite database."""
    config = app.config
    instance = app.instance_path

    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = _instance_secret(
            instance, "secret_key", lambda: secrets.token_hex(32)
        )
    if not config["MFA_ENCRYPTION_KEYS"]:
        config["MFA_ENCRYPTION_KEYS"] = _instance_secret(
            instance, "encryption_key", lambda: Fernet.generate_key().decode()
        )
    if not config["MFA_HMAC_KEY"]:
        config["MFA_HMAC_KEY"] = _instance_secret(
            instance, "hmac_key", lambda: secrets.token_hex(32)
        )
    if not config["SQLALCHEMY_DATABASE_URI"]:
        Path(instance).mkdir(parents=True, exist_ok=True)
        config["SQLALCHEMY_DATABASE_URI"] = (
            f"sqlite:///{Path(instance) / 'mfasite.sqlite3'}"
        )

    # The remember cookie lasts exactly as long as the session it points at.
    config["REMEMBER_COOKIE_DURATION"] = config["REMEMBER_LIFETIME"]

    uri = config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; SQLAlchemy would default to psycopg2.
        config["SQLALCHEMY_DATABASE_URI"] = uri.replace(
            "postgresql://", "postgresql+psycopg://", 1
        )
