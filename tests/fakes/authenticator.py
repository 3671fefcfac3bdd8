"""A software WebAuthn authenticator and browser, for ceremonies without one."""

import base64
import copy
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import cbor2
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

ES256 = -7

# Authenticator data flag bits (WebAuthn Level 2, §6.1).
USER_PRESENT = 0x01
USER_VERIFIED = 0x04
ATTESTED_DATA = 0x40

# A browser replaces the AAGUID with zeros for "none" attestation, which is
# what py_webauthn asks for by default.
ZERO_AAGUID = bytes(16)


class AuthenticatorError(Exception):
    """The authenticator refused the ceremony, as a browser would report."""


class CredentialExcluded(AuthenticatorError):
    """The options exclude a credential this authenticator already holds."""


class NoCredential(AuthenticatorError):
    """The authenticator holds no credential that the options allow."""


class UnsupportedAlgorithm(AuthenticatorError):
    """The options do not offer ES256, the only algorithm this one has."""


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@dataclass
class Credential:
    """One ES256 key pair held for a relying party and a user."""

    rp_id: str
    user_handle: bytes
    id: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    private_key: ec.EllipticCurvePrivateKey = field(default_factory=_new_key)
    sign_count: int = 0

    def cose_public_key(self) -> bytes:
        """Return the public key as a COSE_Key, as py_webauthn stores it."""
        numbers = self.private_key.public_key().public_numbers()

        # EC2 key labels from RFC 8152 §13.1.1: kty 2 (EC2), crv 1 (P-256).
        key = {
            1: 2,
            3: ES256,
            -1: 1,
            -2: numbers.x.to_bytes(32, "big"),
            -3: numbers.y.to_bytes(32, "big"),
        }
        return cbor2.dumps(key, canonical=True)

    def spki_public_key(self) -> bytes:
        """Return the public key as DER SubjectPublicKeyInfo, as toJSON() does."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.DER,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )


class SoftAuthenticator:
    """A roaming security key that answers py_webauthn options like a browser.

    With `counter=False` the signature counter stays at 0, like authenticators
    that do not implement one (WebAuthn Level 2, §6.1.1).
    """

    def __init__(
        self,
        *,
        counter: bool = True,
        attachment: str = "cross-platform",
        transports: tuple[str, ...] = ("usb",),
    ):
        self.counter = counter
        self.attachment = attachment
        self.transports = list(transports)
        self.credentials: list[Credential] = []
        self.assertions: list[dict] = []

    def create(
        self,
        options_json: dict | str,
        origin: str,
        *,
        user_verified: bool = False,
        user_present: bool = True,
        rp_id: str | None = None,
    ) -> dict:
        """Make a credential and return the RegistrationResponseJSON to post.

        `rp_id` claims another RP ID in the authenticator data, to test that
        the server rejects it.
        """
        options = _load(options_json)
        real_rp_id = options["rp"].get("id") or urlsplit(origin).hostname
        self._check_algorithms(options)
        self._check_excluded(options, real_rp_id)

        credential = Credential(real_rp_id, _decode(options["user"]["id"]))
        flags = _flags(user_present, user_verified) | ATTESTED_DATA
        auth_data = _authenticator_data(
            rp_id or real_rp_id, flags, credential.sign_count
        ) + _attested_credential_data(credential)
        attestation_object = cbor2.dumps(
            {"fmt": "none", "attStmt": {}, "authData": auth_data}, canonical=True
        )
        client_data = _client_data("webauthn.create", options["challenge"], origin)
        self.credentials.append(credential)

        return {
            "id": _encode(credential.id),
            "rawId": _encode(credential.id),
            "type": "public-key",
            "response": {
                "clientDataJSON": _encode(client_data),
                "attestationObject": _encode(attestation_object),
                "authenticatorData": _encode(auth_data),
                "transports": list(self.transports),
                "publicKey": _encode(credential.spki_public_key()),
                "publicKeyAlgorithm": ES256,
            },
            "authenticatorAttachment": self.attachment,
            "clientExtensionResults": {},
        }

    def get(
        self,
        options_json: dict | str,
        origin: str,
        *,
        user_verified: bool = False,
        user_present: bool = True,
        rp_id: str | None = None,
        sign_count: int | None = None,
        tamper_client_data: bool = False,
        credential_id: bytes | None = None,
    ) -> dict:
        """Sign the challenge and return the AuthenticationResponseJSON to post.

        `rp_id` claims another RP ID in the authenticator data; `sign_count`
        sets the counter to that value (a lower one models a cloned key);
        `tamper_client_data` alters clientDataJSON after signing;
        `credential_id` picks one of several allowed credentials.
        """
        options = _load(options_json)
        real_rp_id = options.get("rpId") or urlsplit(origin).hostname
        credential = self._choose(options, real_rp_id, credential_id)

        if sign_count is not None:
            credential.sign_count = sign_count
        elif self.counter:
            credential.sign_count += 1

        flags = _flags(user_present, user_verified)
        auth_data = _authenticator_data(
            rp_id or real_rp_id, flags, credential.sign_count
        )
        client_data = _client_data("webauthn.get", options["challenge"], origin)

        # The assertion signs authData || SHA-256(clientDataJSON) (§6.3.3).
        signed = auth_data + hashlib.sha256(client_data).digest()
        signature = credential.private_key.sign(signed, ec.ECDSA(hashes.SHA256()))

        if tamper_client_data:
            client_data = _tampered(client_data)

        response = {
            "id": _encode(credential.id),
            "rawId": _encode(credential.id),
            "type": "public-key",
            "response": {
                "clientDataJSON": _encode(client_data),
                "authenticatorData": _encode(auth_data),
                "signature": _encode(signature),
                "userHandle": _encode(credential.user_handle),
            },
            "authenticatorAttachment": self.attachment,
            "clientExtensionResults": {},
        }
        self.assertions.append(copy.deepcopy(response))
        return response

    def replay(self, index: int = -1) -> dict:
        """Return a copy of an assertion already sent, to post it again."""
        return copy.deepcopy(self.assertions[index])

    def _check_algorithms(self, options: dict) -> None:
        offered = [param["alg"] for param in options.get("pubKeyCredParams", [])]
        if offered and ES256 not in offered:
            raise UnsupportedAlgorithm(f"offered {offered}, need {ES256}")

    def _check_excluded(self, options: dict, rp_id: str) -> None:
        excluded = {_decode(c["id"]) for c in options.get("excludeCredentials", [])}
        for credential in self.credentials:
            if credential.rp_id == rp_id and credential.id in excluded:
                raise CredentialExcluded(_encode(credential.id))

    def _choose(
        self, options: dict, rp_id: str, credential_id: bytes | None
    ) -> Credential:
        allowed = {_decode(c["id"]) for c in options.get("allowCredentials", [])}
        candidates = [
            credential
            for credential in self.credentials
            if credential.rp_id == rp_id
            and (not allowed or credential.id in allowed)
            and (credential_id is None or credential.id == credential_id)
        ]
        if not candidates:
            raise NoCredential(f"no credential for {rp_id} among those allowed")

        # Like a discoverable-credential picker, prefer the newest one.
        return candidates[-1]


def _load(options_json: dict | str) -> dict:
    if isinstance(options_json, str):
        return json.loads(options_json)
    return options_json


def _flags(user_present: bool, user_verified: bool) -> int:
    return (USER_PRESENT if user_present else 0) | (
        USER_VERIFIED if user_verified else 0
    )


def _authenticator_data(rp_id: str, flags: int, sign_count: int) -> bytes:
    """Return rpIdHash, flags and the big-endian counter (§6.1)."""
    rp_id_hash = hashlib.sha256(rp_id.encode()).digest()
    return rp_id_hash + struct.pack(">BI", flags, sign_count)


def _attested_credential_data(credential: Credential) -> bytes:
    """Return AAGUID, credential id length, id and COSE key (§6.5.1)."""
    return (
        ZERO_AAGUID
        + struct.pack(">H", len(credential.id))
        + credential.id
        + credential.cose_public_key()
    )


def _client_data(ceremony: str, challenge: str, origin: str) -> bytes:
    """Serialise CollectedClientData compactly, in a browser's key order."""
    data = {
        "type": ceremony,
        "challenge": challenge,
        "origin": origin,
        "crossOrigin": False,
    }
    return json.dumps(data, separators=(",", ":")).encode()


def _tampered(client_data: bytes) -> bytes:
    """Flip crossOrigin, so only the signature can reveal the change."""
    data = json.loads(client_data)
    data["crossOrigin"] = not data["crossOrigin"]
    return json.dumps(data, separators=(",", ":")).encode()


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
