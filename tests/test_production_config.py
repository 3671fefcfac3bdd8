"""The production configuration: complete or refused, secure cookies, proxies."""

import runpy
from pathlib import Path

import pytest

from mfasite import create_app

ROOT = Path(__file__).resolve().parent.parent
# Never contacted by these tests: nothing listens on port 1 of loopback.
REDIS = "redis://127.0.0.1:1/0"
SETTINGS = (
    "SECRET_KEY",
    "MFA_ENCRYPTION_KEYS",
    "MFA_HMAC_KEY",
    "DATABASE_URL",
    "RATELIMIT_STORAGE_URI",
    "SQLALCHEMY_DATABASE_URI",
    "MFASITE_ENV",
    "PROXY_COUNT",
)


@pytest.fixture
def environment(monkeypatch, base_config):
    """A clean environment holding a complete production configuration."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    values = {
        "MFASITE_ENV": "production",
        "SECRET_KEY": base_config["SECRET_KEY"],
        "MFA_ENCRYPTION_KEYS": base_config["MFA_ENCRYPTION_KEYS"],
        "MFA_HMAC_KEY": base_config["MFA_HMAC_KEY"],
        "DATABASE_URL": base_config["SQLALCHEMY_DATABASE_URI"],
        "RATELIMIT_STORAGE_URI": REDIS,
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "8",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


@pytest.mark.parametrize(
    "missing",
    [
        "SECRET_KEY",
        "MFA_ENCRYPTION_KEYS",
        "MFA_HMAC_KEY",
        "DATABASE_URL",
        "RATELIMIT_STORAGE_URI",
    ],
)
def test_production_refuses_to_start_without_a_setting(environment, missing):
    environment.delenv(missing)

    with pytest.raises(RuntimeError) as refused:
        create_app()

    assert str(refused.value) == (
        f"MFASITE_ENV=production needs these settings: {missing}"
    )


def test_production_refuses_memory_rate_limits(environment):
    environment.setenv("RATELIMIT_STORAGE_URI", "memory://")

    with pytest.raises(RuntimeError, match="RATELIMIT_STORAGE_URI"):
        create_app()


def test_production_starts_when_complete(environment, base_config):
    app = create_app()

    assert app.config["MFASITE_ENV"] == "production"
    assert app.config["SECRET_KEY"] == base_config["SECRET_KEY"]
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_development_invents_its_own_secrets(monkeypatch, base_config):
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": base_config["SQLALCHEMY_DATABASE_URI"]}
    )

    assert app.config["MFASITE_ENV"] == "development"
    assert app.config["SECRET_KEY"]
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"


def test_production_cookies_are_secure_with_host_prefix(environment, _schema):
    app = create_app()
    client = app.test_client()
    page = client.get("/signup", base_url="https://localhost").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]

    response = client.post(
        "/signup",
        data={
            "csrf_token": token,
            "email": "prod@example.com",
            "password": "correct horse battery",
            "confirm": "correct horse battery",
        },
        base_url="https://localhost",
        # Flask-WTF checks the referrer of https form posts.
        headers={"Referer": "https://localhost/signup"},
    )

    assert response.status_code == 303
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    for attribute in ("Secure", "HttpOnly", "Path=/", "SameSite=Lax"):
        assert attribute in cookie
    assert "Domain=" not in cookie


def test_production_remember_cookie_is_secure_with_host_prefix(environment):
    app = create_app()

    assert app.config["REMEMBER_COOKIE_NAME"] == "__Host-remember"
    assert app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_HTTPONLY"] is True
    assert app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"


def test_environment_overrides_production_defaults(environment):
    environment.setenv("SESSION_COOKIE_NAME", "__Host-mfasite")

    app = create_app()

    assert app.config["SESSION_COOKIE_NAME"] == "__Host-mfasite"


def test_database_url_uses_psycopg_3(environment):
    environment.setenv("DATABASE_URL", "postgresql://mfasite@127.0.0.1:5432/mfasite")

    app = create_app()

    assert app.config["SQLALCHEMY_DATABASE_URI"] == (
        "postgresql+psycopg://mfasite@127.0.0.1:5432/mfasite"
    )


def _signin_from(client, forwarded_for):
    return client.post(
        "/signin",
        data={"email": "a@example.com", "password": "x"},
        headers={"X-Forwarded-For": forwarded_for},
    )


@pytest.mark.parametrize("proxies, other_address_status", [(1, 401), (0, 429)])
def test_client_address_read_from_trusted_proxies_only(
    base_config, proxies, other_address_status
):
    app = create_app(
        {
            **base_config,
            "PROXY_COUNT": proxies,
            "SIGNIN_IP_LIMIT": "1 per minute",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    client = app.test_client()

    assert _signin_from(client, "198.51.100.7").status_code == 401
    assert _signin_from(client, "198.51.100.7").status_code == 429
    assert _signin_from(client, "198.51.100.8").status_code == other_address_status


def test_gunicorn_config_turns_off_access_log_and_control_socket():
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))

    assert settings["accesslog"] is None
    assert settings["control_socket_disable"] is True
    assert settings["bind"] == "127.0.0.1:8000"
