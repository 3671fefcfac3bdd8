"""Security keys (WebAuthn Level 2): ceremony options, answer checks, stored keys.

py_webauthn does the spec's checks of one answer; this module adds what needs
the database: single-use challenges, whose key it is, and the counter.
"""

import logging
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, update
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    options_to_json_dict,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from .. import clock
from ..extensions import db
from ..models import METHOD_WEBAUTHN, PendingSignIn, UserSession, WebAuthnCredential
from . import methods
from .errors import (
    CodeExpired,
    CodeReplayed,
    CredentialInUse,
    InvalidResponse,
    SignCountRegressed,
)

log = logging.getLogger(__name__)

# WebAuthn §13.4.3 asks for at least 16 random bytes; we use 32.
CHALLENGE_BYTES = 32
# §14.6.1: the user handle is random and says nothing about the account.
USER_HANDLE_BYTES = 32
NICKNAME_MAX = 64
DEFAULT_NICKNAME = "Security key"
DEVELOPMENT_ORIGIN = "http://localhost:5000"
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Where each holder keeps its one outstanding challenge: a pending sign-in for
# signing in, a signed-in session for adding a key or re-authenticating.
# A challenge for one ceremony cannot pass the other: clientData.type differs.
_CHALLENGE_COLUMNS = {
    PendingSignIn: ("webauthn_challenge", "webauthn_challenge_expires_at"),
    UserSession: ("challenge", "challenge_expires_at"),
}


@dataclass(frozen=True)
class RelyingParty:
    id: str
    name: str
    origin: str


def relying_party():
    """The relying party from the settings, PUBLIC_BASE_URL, or development."""
    config = current_app.config
    parts = urlsplit(
        config["WEBAUTHN_ORIGIN"] or config["PUBLIC_BASE_URL"] or DEVELOPMENT_ORIGIN
    )

    # An origin is scheme, host and port only, the port left out when default
    # (HTML's serialisation, which is what clientDataJSON carries).
    origin = f"{parts.scheme}://{parts.hostname}"
    if parts.port and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        origin += f":{parts.port}"
    return RelyingParty(
        id=config["WEBAUTHN_RP_ID"] or parts.hostname,
        name=config["WEBAUTHN_RP_NAME"] or config["SITE_NAME"],
        origin=origin,
    )


def _user_verification():
    return UserVerificationRequirement(current_app.config["WEBAUTHN_USER_VERIFICATION"])


def _timeout_ms():
    return current_app.config["WEBAUTHN_TIMEOUT_MS"]


def keys_of(user):
    """The user's security keys, oldest first."""
    return db.session.scalars(
        db.select(WebAuthnCredential)
        .where(WebAuthnCredential.user_id == user.id)
        .order_by(WebAuthnCredential.created_at, WebAuthnCredential.id)
    ).all()


def key_of(user, key_id):
    """One of the user's keys by its row id, or None (another user's key too)."""
    return db.session.scalar(
        db.select(WebAuthnCredential).where(
            WebAuthnCredential.id == key_id, WebAuthnCredential.user_id == user.id
        )
    )


def _descriptors(user):
    return [
        PublicKeyCredentialDescriptor(
            id=key.credential_id,
            transports=[
                AuthenticatorTransport(name)
                for name in (key.transports or "").split(",")
                if name
            ]
            or None,
        )
        for key in keys_of(user)
    ]


def _issue_challenge(holder):
    """Give the holder a fresh challenge, replacing any earlier one."""
    challenge = secrets.token_bytes(CHALLENGE_BYTES)
    ttl = timedelta(seconds=current_app.config["WEBAUTHN_CHALLENGE_TTL"])
    value, expiry = _CHALLENGE_COLUMNS[type(holder)]
    setattr(holder, value, challenge)
    setattr(holder, expiry, clock.now() + ttl)
    return challenge


def _take_challenge(holder):
    """Use up the holder's challenge and return it; each is good for one answer.

    The clearing is a conditional UPDATE on the value read, so two answers
    racing for one challenge give one winner (WebAuthn §13.4.3).
    """
    model = type(holder)
    value, expiry = (getattr(model, name) for name in _CHALLENGE_COLUMNS[model])
    row = db.session.execute(
        db.select(value, expiry).where(model.id == holder.id)
    ).one_or_none()
    if row is None or row[0] is None:
        raise CodeReplayed("no challenge outstanding: used already or never issued")

    result = db.session.execute(
        update(model)
        .where(model.id == holder.id, value == row[0])
        .values({value.key: None, expiry.key: None})
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise CodeReplayed("challenge taken by a concurrent answer")
    if row[1] is None or row[1] <= clock.now():
        raise CodeExpired("challenge expired")
    return row[0]


def _parse(parser, response):
    if not isinstance(response, dict | str):
        raise InvalidResponse("no credential in the request")
    try:
        return parser(response)
    except WebAuthnException as error:
        raise InvalidResponse(f"unreadable credential: {error}") from error


def _checked(verify, **kwargs):
    """Run a py_webauthn verification, turning its refusals into InvalidResponse."""
    try:
        return verify(**kwargs)
    except WebAuthnException as error:
        raise InvalidResponse(str(error)) from error
    except (ValueError, TypeError, KeyError, IndexError) as error:
        # The library raises its own exceptions for bad input; anything else
        # is a gap in it, worth a traceback, and still only a refusal.
        log.exception("WebAuthn library failed on an answer")
        raise InvalidResponse("the WebAuthn library failed") from error


def registration_options(user, user_session):
    """Options for navigator.credentials.create(); the challenge stays on the session.

    The user gets a random handle the first time.
    """
    if user.webauthn_user_id is None:
        user.webauthn_user_id = secrets.token_bytes(USER_HANDLE_BYTES)
    rp = relying_party()

    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=user.webauthn_user_id,
        user_name=user.email,
        user_display_name=user.email,
        challenge=_issue_challenge(user_session),
        timeout=_timeout_ms(),
        # The site trusts any key: attestation would only identify its model.
        attestation=AttestationConveyancePreference.NONE,
        # A second factor needs no slot on the key for a discoverable credential.
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=_user_verification(),
        ),
        # The browser refuses a key that already holds one of these (§5.4.3).
        exclude_credentials=_descriptors(user),
    )
    return options_to_json_dict(options)


def register(user, user_session, response, nickname):
    """Verify a new key's answer (WebAuthn §7.1) and store the key.

    Raises an MfaError when refused; the caller then rolls back.
    """
    expected = _take_challenge(user_session)
    credential = _parse(parse_registration_credential_json, response)
    rp = relying_party()

    verified = _checked(
        verify_registration_response,
        credential=credential,
        expected_challenge=expected,
        expected_rp_id=rp.id,
        expected_origin=rp.origin,
        require_user_verification=_uv_required(),
    )

    # §7.1 step 22: a credential id registered to anyone is refused.
    taken = db.session.scalar(
        db.select(WebAuthnCredential.id).where(
            WebAuthnCredential.credential_id == verified.credential_id
        )
    )
    if taken is not None:
        raise CredentialInUse("credential id already registered")

    transports = credential.response.transports or []
    key = WebAuthnCredential(
        user_id=user.id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=",".join(transport.value for transport in transports) or None,
        nickname=nickname,
    )
    db.session.add(key)
    db.session.flush()
    return key


def _uv_required():
    return _user_verification() == UserVerificationRequirement.REQUIRED


def authentication_options(user, holder):
    """Options for navigator.credentials.get() with the user's keys allowed.

    The challenge is kept on `holder`: the pending sign-in or the session.
    """
    options = generate_authentication_options(
        rp_id=relying_party().id,
        challenge=_issue_challenge(holder),
        timeout=_timeout_ms(),
        allow_credentials=_descriptors(user),
        user_verification=_user_verification(),
    )
    return options_to_json_dict(options)


def authenticate(user, holder, response):
    """Check a key's answer to the holder's challenge (WebAuthn §7.2); return the key.

    py_webauthn checks the client data type, challenge and origin, the RP id
    hash, user presence and the signature; the key's owner and its counter
    are checked here.
    """
    expected = _take_challenge(holder)
    credential = _parse(parse_authentication_credential_json, response)

    # §7.2 steps 5 and 6: the credential must be one of this user's keys, and
    # a user handle, when the key returns one, must be this user's.
    key = db.session.scalar(
        db.select(WebAuthnCredential).where(
            WebAuthnCredential.credential_id == credential.raw_id,
            WebAuthnCredential.user_id == user.id,
        )
    )
    if key is None:
        raise InvalidResponse("credential is not one of this user's keys")
    handle = credential.response.user_handle
    if handle is not None and handle != user.webauthn_user_id:
        raise InvalidResponse("user handle is not this user's")

    rp = relying_party()
    verified = _checked(
        verify_authentication_response,
        credential=credential,
        expected_challenge=expected,
        expected_rp_id=rp.id,
        expected_origin=rp.origin,
        credential_public_key=key.public_key,
        # Zero turns the library's counter check off: the counter is compared
        # below, after the signature, so a forged answer raises no alarm.
        credential_current_sign_count=0,
        require_user_verification=_uv_required(),
    )
    _advance_counter(key, verified.new_sign_count)
    return key


def _advance_counter(key, new_count):
    """Store the new signature counter and last use; refuse one that went back.

    §7.2 step 21: when either count is non-zero the new one must be larger,
    or the key may have been cloned. Keys without a counter always send 0.
    """
    old_count = key.sign_count
    if (new_count or old_count) and new_count <= old_count:
        raise SignCountRegressed(
            f"sign count {new_count} is not above {old_count}", key.nickname
        )

    now = clock.now()
    result = db.session.execute(
        update(WebAuthnCredential)
        .where(
            WebAuthnCredential.id == key.id,
            WebAuthnCredential.sign_count == old_count,
        )
        .values(sign_count=new_count, last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise CodeReplayed("counter moved under a concurrent answer")
    key.sign_count = new_count
    key.last_used_at = now


def clean_nickname(value):
    """Collapse whitespace and drop control characters (PostgreSQL refuses NUL)."""
    kept = (
        ch
        for ch in value or ""
        if ch.isspace() or not unicodedata.category(ch).startswith("C")
    )
    return " ".join("".join(kept).split())


def nickname_taken(user, nickname, except_key=None):
    """Whether another of the user's keys has this nickname, ignoring case."""
    query = db.select(WebAuthnCredential.id).where(
        WebAuthnCredential.user_id == user.id,
        func.lower(WebAuthnCredential.nickname) == nickname.lower(),
    )
    if except_key is not None:
        query = query.where(WebAuthnCredential.id != except_key.id)
    return db.session.scalar(query) is not None


def default_nickname(user):
    """ "Security key", or "Security key 2" and on when that one is taken."""
    nickname, number = DEFAULT_NICKNAME, 1
    while nickname_taken(user, nickname):
        number += 1
        nickname = f"{DEFAULT_NICKNAME} {number}"
    return nickname


def can_remove(user, key):
    """Any key but the last may go; the last one only if the method may."""
    if len(keys_of(user)) > 1:
        return True
    return methods.can_remove(user, METHOD_WEBAUTHN)


def remove(user, key):
    """Remove one key; removing the last one removes the method (methods.remove)."""
    if len(keys_of(user)) > 1:
        db.session.delete(key)
        return True
    return methods.remove(user, METHOD_WEBAUTHN)
