"""mfasite.mfa.webauthn called directly: options, challenges, checks, storage."""

import base64
from datetime import timedelta

import pytest

from fakes.authenticator import CredentialExcluded, SoftAuthenticator
from mfasite import clock
from mfasite.extensions import db
from mfasite.mfa import webauthn
from mfasite.mfa.errors import (
    CodeExpired,
    CodeReplayed,
    CredentialInUse,
    InvalidResponse,
    SignCountRegressed,
)
from mfasite.models import PendingSignIn, User, UserSession, WebAuthnCredential

from .support import ORIGIN, RP_ID


def _decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _encode(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


def _user(email="ada@example.com"):
    user = User(email=email, password_hash="not used here")
    db.session.add(user)
    db.session.flush()
    db.session.add(UserSession(id=f"session-{user.id}", user_id=user.id))
    db.session.add(
        PendingSignIn(
            id=f"pending-{user.id}",
            user_id=user.id,
            expires_at=clock.now() + timedelta(minutes=10),
        )
    )
    db.session.flush()
    return user


def _session(user):
    return db.session.get(UserSession, f"session-{user.id}")


def _pending(user):
    return db.session.get(PendingSignIn, f"pending-{user.id}")


def _register(user, key, nickname="Security key"):
    options = webauthn.registration_options(user, _session(user))
    response = key.create(options, ORIGIN)
    return webauthn.register(user, _session(user), response, nickname)


def _sign(user, key, **get):
    options = webauthn.authentication_options(user, _pending(user))
    return webauthn.authenticate(user, _pending(user), key.get(options, ORIGIN, **get))


@pytest.mark.parametrize(
    ("settings", "rp_id", "origin"),
    [
        ({}, "localhost", "http://localhost:5000"),
        (
            {"PUBLIC_BASE_URL": "https://MFA.example.com/app/"},
            "mfa.example.com",
            "https://mfa.example.com",
        ),
        (
            {"PUBLIC_BASE_URL": "https://mfa.example.com:443"},
            "mfa.example.com",
            "https://mfa.example.com",
        ),
        (
            {"PUBLIC_BASE_URL": "https://mfa.example.com:8443"},
            "mfa.example.com",
            "https://mfa.example.com:8443",
        ),
        (
            {
                "WEBAUTHN_ORIGIN": "https://login.example.com",
                "WEBAUTHN_RP_ID": "example.com",
                "PUBLIC_BASE_URL": "https://other.example.net",
            },
            "example.com",
            "https://login.example.com",
        ),
    ],
)
def test_relying_party_comes_from_settings(app, settings, rp_id, origin):
    app.config.update(settings)
    with app.app_context():
        rp = webauthn.relying_party()

    assert (rp.id, rp.origin, rp.name) == (rp_id, origin, "mfasite")


def test_registration_options_ask_for_a_second_factor(ctx):
    user = _user()

    options = webauthn.registration_options(user, _session(user))

    assert options["rp"] == {"id": RP_ID, "name": "mfasite"}
    assert options["attestation"] == "none"
    assert options["authenticatorSelection"] == {
        "residentKey": "discouraged",
        "requireResidentKey": False,
        "userVerification": "discouraged",
    }
    assert options["excludeCredentials"] == []
    assert -7 in [param["alg"] for param in options["pubKeyCredParams"]]


def test_registration_options_keep_the_challenge_on_the_session(ctx):
    user = _user()

    options = webauthn.registration_options(user, _session(user))

    stored = _session(user).challenge
    assert _decode(options["challenge"]) == stored
    assert len(stored) >= 32
    expires_in = _session(user).challenge_expires_at - clock.now()
    assert timedelta(minutes=4, seconds=59) < expires_in <= timedelta(minutes=5)


def test_registration_options_use_a_stable_random_user_handle(ctx):
    user = _user()

    first = webauthn.registration_options(user, _session(user))["user"]
    second = webauthn.registration_options(user, _session(user))["user"]

    assert first["id"] == second["id"]
    assert _decode(first["id"]) == user.webauthn_user_id
    assert len(user.webauthn_user_id) == 32
    assert b"ada" not in user.webauthn_user_id
    assert first["name"] == first["displayName"] == "ada@example.com"


def test_user_handles_differ_between_users(ctx):
    ada, bob = _user(), _user("bob@example.com")

    webauthn.registration_options(ada, _session(ada))
    webauthn.registration_options(bob, _session(bob))

    assert ada.webauthn_user_id != bob.webauthn_user_id


def test_registration_options_exclude_only_the_users_keys(ctx, key):
    ada, bob = _user(), _user("bob@example.com")
    stored = _register(ada, key)
    _register(bob, SoftAuthenticator())

    options = webauthn.registration_options(ada, _session(ada))

    assert options["excludeCredentials"] == [
        {
            "id": _encode(stored.credential_id),
            "type": "public-key",
            "transports": ["usb"],
        }
    ]
    with pytest.raises(CredentialExcluded):
        key.create(options, ORIGIN)


def test_user_verification_is_configurable(app, ctx):
    app.config["WEBAUTHN_USER_VERIFICATION"] = "required"
    user = _user()

    options = webauthn.registration_options(user, _session(user))
    response = SoftAuthenticator().create(options, ORIGIN, user_verified=False)

    assert options["authenticatorSelection"]["userVerification"] == "required"
    with pytest.raises(InvalidResponse, match="User verification"):
        webauthn.register(user, _session(user), response, "Security key")


def test_register_stores_the_key(ctx, key):
    user = _user()

    stored = _register(user, key, nickname="Blue key")

    [credential] = key.credentials
    assert stored.user_id == user.id
    assert stored.credential_id == credential.id
    assert stored.public_key == credential.cose_public_key()
    assert stored.sign_count == 0
    assert stored.transports == "usb"
    assert stored.nickname == "Blue key"
    assert stored.created_at is not None and stored.last_used_at is None


def test_register_uses_the_challenge_once(ctx, key):
    user = _user()
    options = webauthn.registration_options(user, _session(user))
    response = key.create(options, ORIGIN)
    webauthn.register(user, _session(user), response, "First")

    with pytest.raises(CodeReplayed):
        webauthn.register(user, _session(user), response, "Second")


def test_register_refuses_an_expired_challenge(ctx, key):
    user = _user()
    options = webauthn.registration_options(user, _session(user))
    clock.offset += timedelta(minutes=5, seconds=1)

    with pytest.raises(CodeExpired):
        webauthn.register(user, _session(user), key.create(options, ORIGIN), "Key")

    assert _session(user).challenge is None


def test_register_refuses_a_credential_id_registered_to_anyone(ctx, key):
    ada, bob = _user(), _user("bob@example.com")
    options = webauthn.registration_options(bob, _session(bob))
    response = key.create(options, ORIGIN)
    db.session.add(
        WebAuthnCredential(
            user_id=ada.id,
            credential_id=key.credentials[0].id,
            public_key=b"ada's key",
            nickname="Ada's key",
        )
    )

    with pytest.raises(CredentialInUse):
        webauthn.register(bob, _session(bob), response, "Security key")


def test_authentication_options_allow_the_users_keys(ctx, key):
    ada, bob = _user(), _user("bob@example.com")
    first = _register(ada, key, "One")
    second = _register(ada, SoftAuthenticator(), "Two")
    _register(bob, SoftAuthenticator())

    options = webauthn.authentication_options(ada, _pending(ada))

    assert [c["id"] for c in options["allowCredentials"]] == [
        _encode(first.credential_id),
        _encode(second.credential_id),
    ]
    assert options["rpId"] == RP_ID
    assert options["userVerification"] == "discouraged"
    assert _decode(options["challenge"]) == _pending(ada).webauthn_challenge
    assert len(_pending(ada).webauthn_challenge) >= 32


def test_authenticate_advances_the_counter(ctx, key):
    user = _user()
    stored = _register(user, key)

    before = clock.now()

    used = _sign(user, key)

    assert used.id == stored.id
    assert stored.sign_count == 1
    assert before <= stored.last_used_at <= clock.now()
    assert _pending(user).webauthn_challenge is None


def test_authenticate_accepts_keys_without_a_counter(ctx):
    key = SoftAuthenticator(counter=False)
    user = _user()
    stored = _register(user, key)

    _sign(user, key)
    _sign(user, key)

    assert stored.sign_count == 0


@pytest.mark.parametrize("new_count", [5, 3, 0])
def test_authenticate_refuses_a_counter_that_did_not_grow(ctx, key, new_count):
    user = _user()
    stored = _register(user, key)
    _sign(user, key, sign_count=5)

    with pytest.raises(SignCountRegressed) as refused:
        _sign(user, key, sign_count=new_count)

    assert refused.value.nickname == "Security key"
    assert stored.sign_count == 5


def test_authenticate_refuses_a_forged_answer_before_the_counter(ctx, key):
    user = _user()
    _register(user, key)
    _sign(user, key, sign_count=5)

    # A lower count on a tampered answer is a forgery, not a cloned key.
    with pytest.raises(InvalidResponse, match="signature"):
        _sign(user, key, sign_count=1, tamper_client_data=True)


def test_authenticate_refuses_another_users_key(ctx, key):
    ada, bob = _user(), _user("bob@example.com")
    _register(ada, SoftAuthenticator())
    _register(bob, key)
    options = webauthn.authentication_options(ada, _pending(ada))
    options["allowCredentials"] = []

    with pytest.raises(InvalidResponse, match="not one of this user's keys"):
        webauthn.authenticate(ada, _pending(ada), key.get(options, ORIGIN))


def test_authenticate_refuses_another_users_handle(ctx, key):
    ada, bob = _user(), _user("bob@example.com")
    _register(ada, key)
    webauthn.registration_options(bob, _session(bob))
    key.credentials[0].user_handle = bob.webauthn_user_id

    with pytest.raises(InvalidResponse, match="user handle"):
        _sign(ada, key)


def test_authenticate_refuses_a_challenge_it_did_not_issue(ctx, key):
    user = _user()
    _register(user, key)
    options = webauthn.authentication_options(user, _pending(user))
    options["challenge"] = _encode(b"x" * 32)

    with pytest.raises(InvalidResponse, match="challenge"):
        webauthn.authenticate(user, _pending(user), key.get(options, ORIGIN))


def test_authenticate_without_a_challenge_is_a_replay(ctx, key):
    user = _user()
    _register(user, key)
    _sign(user, key)

    with pytest.raises(CodeReplayed):
        webauthn.authenticate(user, _pending(user), key.replay())


@pytest.mark.parametrize("response", [None, 42, "not json", {"id": "x"}, []])
def test_authenticate_refuses_what_is_not_a_credential(ctx, key, response):
    user = _user()
    _register(user, key)
    webauthn.authentication_options(user, _pending(user))

    with pytest.raises(InvalidResponse):
        webauthn.authenticate(user, _pending(user), response)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Blue   key ", "Blue key"),
        ("Blue\nkey\t2", "Blue key 2"),
        ("Blue\x00key\u200b", "Bluekey"),
        ("", ""),
        (None, ""),
    ],
)
def test_clean_nickname(raw, clean):
    assert webauthn.clean_nickname(raw) == clean


def test_default_nickname_skips_names_in_use(ctx, key):
    user = _user()
    assert webauthn.default_nickname(user) == "Security key"

    _register(user, key, "security KEY")
    _register(user, SoftAuthenticator(), "Security key 2")

    assert webauthn.default_nickname(user) == "Security key 3"
