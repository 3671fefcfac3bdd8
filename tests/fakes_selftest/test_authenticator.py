import json

import pytest
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidRegistrationResponse,
)
from webauthn.helpers.structs import (
    PublicKeyCredentialDescriptor,
    UserVerificationRequirement,
)

from fakes.authenticator import (
    CredentialExcluded,
    NoCredential,
    SoftAuthenticator,
)

RP_ID = "mfasite.test"
ORIGIN = "https://mfasite.test"
USER_ID = b"user-0001"


class Server:
    """The relying party's side, kept the way the app would keep it."""

    def __init__(self):
        self.public_key = None
        self.credential_id = None
        self.sign_count = 0

    def register_options(self, **kwargs):
        options = generate_registration_options(
            rp_id=RP_ID, rp_name="mfasite", user_name="alice", user_id=USER_ID, **kwargs
        )
        return options.challenge, options_to_json(options)

    def verify_registration(self, challenge, response, **kwargs):
        verified = verify_registration_response(
            credential=response,
            expected_challenge=challenge,
            expected_rp_id=RP_ID,
            expected_origin=ORIGIN,
            **kwargs,
        )
        self.public_key = verified.credential_public_key
        self.credential_id = verified.credential_id
        self.sign_count = verified.sign_count
        return verified

    def login_options(self, **kwargs):
        allowed = [PublicKeyCredentialDescriptor(id=self.credential_id)]
        options = generate_authentication_options(
            rp_id=RP_ID, allow_credentials=allowed, **kwargs
        )
        return options.challenge, options_to_json(options)

    def verify_login(self, challenge, response, **kwargs):
        verified = verify_authentication_response(
            credential=response,
            expected_challenge=challenge,
            expected_rp_id=RP_ID,
            expected_origin=ORIGIN,
            credential_public_key=self.public_key,
            credential_current_sign_count=self.sign_count,
            **kwargs,
        )
        self.sign_count = verified.new_sign_count
        return verified


@pytest.fixture
def server():
    return Server()


@pytest.fixture
def key():
    return SoftAuthenticator()


@pytest.fixture
def registered(server, key):
    """A server that has verified one credential of `key`."""
    challenge, options = server.register_options()
    server.verify_registration(challenge, key.create(options, ORIGIN))
    return server


def test_create_is_verified(server, key):
    challenge, options = server.register_options()

    verified = server.verify_registration(challenge, key.create(options, ORIGIN))

    [credential] = key.credentials
    assert verified.credential_id == credential.id
    assert verified.credential_public_key == credential.cose_public_key()
    assert verified.sign_count == 0
    assert verified.fmt == "none"
    assert verified.user_verified is False


def test_create_accepts_options_as_dict(server, key):
    challenge, options = server.register_options()

    response = key.create(json.loads(options), ORIGIN)

    assert server.verify_registration(challenge, response)


def test_create_response_has_browser_json_shape(server, key):
    _, options = server.register_options()

    response = key.create(options, ORIGIN)

    assert response["id"] == response["rawId"]
    assert "=" not in response["id"]
    assert response["type"] == "public-key"
    assert response["authenticatorAttachment"] == "cross-platform"
    assert response["clientExtensionResults"] == {}
    assert response["response"]["transports"] == ["usb"]
    assert response["response"]["publicKeyAlgorithm"] == -7


def test_create_with_user_verified_meets_required_uv(server, key):
    challenge, options = server.register_options()

    response = key.create(options, ORIGIN, user_verified=True)

    verified = server.verify_registration(
        challenge, response, require_user_verification=True
    )
    assert verified.user_verified is True


def test_create_without_user_verified_fails_required_uv(server, key):
    challenge, options = server.register_options()

    with pytest.raises(InvalidRegistrationResponse, match="User verification"):
        server.verify_registration(
            challenge, key.create(options, ORIGIN), require_user_verification=True
        )


def test_create_wrong_origin_is_rejected(server, key):
    challenge, options = server.register_options()

    response = key.create(options, "https://evil.test")

    with pytest.raises(InvalidRegistrationResponse, match="origin"):
        server.verify_registration(challenge, response)


def test_create_wrong_rp_id_is_rejected(server, key):
    challenge, options = server.register_options()

    response = key.create(options, ORIGIN, rp_id="evil.test")

    with pytest.raises(InvalidRegistrationResponse, match="RP ID hash"):
        server.verify_registration(challenge, response)


def test_create_without_user_presence_is_rejected(server, key):
    challenge, options = server.register_options()

    response = key.create(options, ORIGIN, user_present=False)

    with pytest.raises(InvalidRegistrationResponse, match="User presence"):
        server.verify_registration(challenge, response)


def test_create_other_challenge_is_rejected(server, key):
    _, options = server.register_options()
    challenge, _ = server.register_options()

    response = key.create(options, ORIGIN)

    with pytest.raises(InvalidRegistrationResponse, match="challenge"):
        server.verify_registration(challenge, response)


def test_create_excluded_credential_raises(registered, key):
    excluded = [PublicKeyCredentialDescriptor(id=registered.credential_id)]
    _, options = registered.register_options(exclude_credentials=excluded)

    with pytest.raises(CredentialExcluded):
        key.create(options, ORIGIN)


def test_get_is_verified(registered, key):
    challenge, options = registered.login_options()

    verified = registered.verify_login(challenge, key.get(options, ORIGIN))

    assert verified.credential_id == registered.credential_id
    assert verified.new_sign_count == 1


def test_get_counts_each_signature(registered, key):
    for expected in (1, 2, 3):
        challenge, options = registered.login_options()
        verified = registered.verify_login(challenge, key.get(options, ORIGIN))
        assert verified.new_sign_count == expected


def test_get_returns_registered_user_handle(registered, key):
    _, options = registered.login_options()

    response = key.get(options, ORIGIN)

    assert base64url_to_bytes(response["response"]["userHandle"]) == USER_ID


def test_get_without_counter_stays_at_zero(server):
    key = SoftAuthenticator(counter=False)
    challenge, options = server.register_options()
    server.verify_registration(challenge, key.create(options, ORIGIN))

    for _ in range(2):
        challenge, options = server.login_options()
        verified = server.verify_login(challenge, key.get(options, ORIGIN))
        assert verified.new_sign_count == 0


def test_get_with_user_verified_meets_required_uv(registered, key):
    uv = UserVerificationRequirement.REQUIRED
    challenge, options = registered.login_options(user_verification=uv)

    response = key.get(options, ORIGIN, user_verified=True)

    verified = registered.verify_login(
        challenge, response, require_user_verification=True
    )
    assert verified.user_verified is True


def test_get_without_user_verified_fails_required_uv(registered, key):
    challenge, options = registered.login_options()

    with pytest.raises(InvalidAuthenticationResponse, match="User verification"):
        registered.verify_login(
            challenge, key.get(options, ORIGIN), require_user_verification=True
        )


def test_get_wrong_origin_is_rejected(registered, key):
    challenge, options = registered.login_options()

    response = key.get(options, "http://mfasite.test")

    with pytest.raises(InvalidAuthenticationResponse, match="origin"):
        registered.verify_login(challenge, response)


def test_get_wrong_rp_id_is_rejected(registered, key):
    challenge, options = registered.login_options()

    response = key.get(options, ORIGIN, rp_id="evil.test")

    with pytest.raises(InvalidAuthenticationResponse, match="RP ID hash"):
        registered.verify_login(challenge, response)


def test_get_tampered_client_data_is_rejected(registered, key):
    challenge, options = registered.login_options()

    response = key.get(options, ORIGIN, tamper_client_data=True)

    with pytest.raises(InvalidAuthenticationResponse, match="signature"):
        registered.verify_login(challenge, response)


def test_get_without_user_presence_is_rejected(registered, key):
    challenge, options = registered.login_options()

    response = key.get(options, ORIGIN, user_present=False)

    with pytest.raises(InvalidAuthenticationResponse, match="not present"):
        registered.verify_login(challenge, response)


def test_get_lower_sign_count_is_rejected(registered, key):
    challenge, options = registered.login_options()
    registered.verify_login(challenge, key.get(options, ORIGIN, sign_count=5))
    challenge, options = registered.login_options()

    response = key.get(options, ORIGIN, sign_count=3)

    with pytest.raises(InvalidAuthenticationResponse, match="sign count of 3"):
        registered.verify_login(challenge, response)
    assert registered.sign_count == 5


def test_get_by_other_key_fails_signature(registered):
    other = SoftAuthenticator()
    _, options = registered.register_options()
    other.create(options, ORIGIN)
    other.credentials[0].id = registered.credential_id
    challenge, options = registered.login_options()

    response = other.get(options, ORIGIN)

    with pytest.raises(InvalidAuthenticationResponse, match="signature"):
        registered.verify_login(challenge, response)


def test_replay_for_new_challenge_is_rejected(registered, key):
    challenge, options = registered.login_options()
    registered.verify_login(challenge, key.get(options, ORIGIN))
    challenge, _ = registered.login_options()

    with pytest.raises(InvalidAuthenticationResponse, match="challenge"):
        registered.verify_login(challenge, key.replay())


def test_replay_for_same_challenge_is_rejected_by_counter(registered, key):
    challenge, options = registered.login_options()
    registered.verify_login(challenge, key.get(options, ORIGIN))

    with pytest.raises(InvalidAuthenticationResponse, match="sign count"):
        registered.verify_login(challenge, key.replay())


def test_replay_is_a_copy(registered, key):
    _, options = registered.login_options()
    response = key.get(options, ORIGIN)
    response["response"]["signature"] = ""

    assert key.replay()["response"]["signature"] != ""


def test_get_signs_with_the_allowed_credential(server, key):
    challenge, options = server.register_options()
    server.verify_registration(challenge, key.create(options, ORIGIN))
    key.create(server.register_options()[1], ORIGIN)
    challenge, options = server.login_options()

    verified = server.verify_login(challenge, key.get(options, ORIGIN))

    assert verified.credential_id == key.credentials[0].id


def test_get_credential_id_picks_among_allowed(server, key):
    for _ in range(2):
        challenge, options = server.register_options()
        server.verify_registration(challenge, key.create(options, ORIGIN))
    first = key.credentials[0]
    options = generate_authentication_options(rp_id=RP_ID)

    response = key.get(options_to_json(options), ORIGIN, credential_id=first.id)

    assert base64url_to_bytes(response["rawId"]) == first.id


def test_get_with_no_allowed_credential_raises(registered):
    _, options = registered.login_options()

    with pytest.raises(NoCredential):
        SoftAuthenticator().get(options, ORIGIN)


def test_get_for_other_rp_raises(registered, key):
    _, options = registered.login_options()
    options = json.loads(options) | {"rpId": "other.test"}

    with pytest.raises(NoCredential):
        key.get(options, "https://other.test")
