"""Security headers on every response, and templates a strict CSP can serve."""

import re
from pathlib import Path

import pytest
from support import totp_now

from mfasite import create_app

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)


@pytest.fixture
def signed_in(actions, user_with_totp):
    actions.signin()
    actions.challenge(totp_now(user_with_totp["secret"]))
    return actions.client


def _assert_secure(response):
    headers = response.headers
    assert headers["Content-Security-Policy"] == CSP
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.parametrize(
    "path, status",
    [
        ("/signin", 200),
        ("/signup", 200),
        ("/no-such-page", 404),
        ("/account/security", 302),
    ],
)
def test_public_responses_carry_security_headers(client, path, status):
    response = client.get(path)

    assert response.status_code == status
    _assert_secure(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize(
    "path",
    ["/", "/account", "/account/security", "/account/security/authenticator"],
)
def test_signed_in_pages_carry_security_headers(signed_in, path):
    response = signed_in.get(path)

    assert response.status_code == 200
    _assert_secure(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_error_answers_carry_security_headers(client):
    response = client.post("/signin", data={"email": "a@example.com"})

    assert response.status_code == 400
    _assert_secure(response)


def test_static_files_carry_security_headers_and_may_be_cached(client):
    response = client.get("/static/js/site.js")

    assert response.status_code == 200
    _assert_secure(response)
    assert response.headers.get("Cache-Control") != "no-store"
    response.close()


def test_production_sends_hsts(base_config):
    app = create_app(
        {
            **base_config,
            "MFASITE_ENV": "production",
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0",
        }
    )

    response = app.test_client().get("/signin")

    assert response.headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains"
    )


def _templates():
    return sorted(TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("path", _templates(), ids=lambda path: path.name)
def test_templates_have_no_inline_script_or_style(path):
    text = path.read_text()

    scripts = re.findall(r"<script\b[^>]*>", text)
    for tag in scripts:
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"<style\b", text)
    assert not re.search(r"\sstyle\s*=", text)
    assert not re.search(r"\son[a-z]+\s*=", text)
    assert "javascript:" not in text


def test_authenticator_step_has_no_style_attribute(signed_in):
    page = signed_in.get("/account/security/authenticator").get_data(as_text=True)

    assert "<svg" in page
    assert not re.search(r"\sstyle\s*=", page)
