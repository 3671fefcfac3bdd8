"""The Manage dialog of an active method on the Password & Security page."""

import pyotp
import pytest

from mfasite import clock
from mfasite.extensions import db
from mfasite.models import SmsDevice, User

SECURITY = "/account/security"
MANAGE_TOTP = "/account/security/methods/totp"
DIALOG = {"HX-Request": "true", "HX-Target": "modal-root"}


def _sign_in(actions, user_with_totp):
    actions.signin()
    # Computed here: `conftest` names the browser tests' module too when both run.
    code = pyotp.TOTP(user_with_totp["secret"]).at(clock.timestamp())
    response = actions.challenge(code)
    assert response.headers["Location"] == "/"


def _add_confirmed_sms(app):
    with app.app_context():
        user = db.session.scalar(db.select(User))
        db.session.add(
            SmsDevice(
                user_id=user.id, phone_e164="+15555550123", confirmed_at=clock.now()
            )
        )
        db.session.commit()


def test_manage_method_not_active_is_not_found(client, actions):
    actions.signup()

    for path in [MANAGE_TOTP, "/account/security/methods/sms", f"{SECURITY}/methods/x"]:
        assert client.get(path, headers=DIALOG).status_code == 404


def test_security_page_offers_manage_for_active_method(client, actions, user_with_totp):
    _sign_in(actions, user_with_totp)

    page = client.get(SECURITY).get_data(True)

    row = page[page.index('id="method-totp"') : page.index('id="method-webauthn"')]
    assert f'hx-get="{MANAGE_TOTP}" hx-target="#modal-root"' in row
    assert 'aria-label="Manage Authenticator app">Manage</button>' in row
    assert ">Enroll</button>" not in row


def test_manage_only_method_offers_setup_again_not_removal(
    client, actions, user_with_totp
):
    _sign_in(actions, user_with_totp)

    response = client.get(MANAGE_TOTP, headers=DIALOG)

    body = response.get_data(True)
    assert response.status_code == 200
    assert body.startswith('<dialog class="modal" id="mfa-dialog"')
    assert '<h2 id="modal-title" tabindex="-1">Authenticator app</h2>' in body
    assert "Authenticator app is active." in body
    assert 'hx-get="/account/security/authenticator" hx-target="#modal-step"' in body
    assert ">Set up again</button>" in body
    assert "It is your only method." in body
    assert "/methods/totp/remove" not in body


class TestSeveralMethods:
    @pytest.fixture
    def config_overrides(self):
        return {"MFA_ALLOW_MULTIPLE": True}

    def test_manage_offers_removal_when_another_method_remains(
        self, client, app, actions, user_with_totp
    ):
        _sign_in(actions, user_with_totp)
        _add_confirmed_sms(app)

        body = client.get(MANAGE_TOTP, headers=DIALOG).get_data(True)

        assert "and asked for first when you sign in" in body
        assert f'hx-get="{MANAGE_TOTP}/remove" hx-target="#modal-step"' in body
        assert "You will sign in with your other method." in body
