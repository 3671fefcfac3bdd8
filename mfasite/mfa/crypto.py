"""Encryption for stored secrets and keyed hashes for stored codes."""

import hashlib
import hmac

from cryptography.fernet import Fernet, MultiFernet
from flask import current_app


def _fernet():
    keys = current_app.config["MFA_ENCRYPTION_KEYS"]
    if isinstance(keys, str):
        keys = keys.split(",")
    # The first key encrypts; every key decrypts, so old keys can be rotated out.
    return MultiFernet([Fernet(key.strip().encode()) for key in keys if key.strip()])


def encrypt(text):
    """Encrypt a secret for storage."""
    return _fernet().encrypt(text.encode()).decode()


def decrypt(token):
    """Decrypt a stored secret."""
    return _fernet().decrypt(token.encode()).decode()


def code_hmac(code):
    """Return the keyed hash that stands in for a code in the database."""
    key = current_app.config["MFA_HMAC_KEY"].encode()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()
