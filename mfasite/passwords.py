"""Password hashing with Argon2id."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

_DUMMY_PASSWORD = "not the password of any account"
_dummy_hashes = {}


def _hasher():
    config = current_app.config
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"],
        memory_cost=config["ARGON2_MEMORY_COST"],
        parallelism=config["ARGON2_PARALLELISM"],
    )


def hash_password(password):
    """Return an Argon2id hash of the password with the configured parameters."""
    return _hasher().hash(password)


def verify_password(user, password):
    """Check a password, rehashing it when the parameters have changed.

    With no user, a dummy hash is checked instead so that an unknown email
    takes as long as a known one.
    """
    hasher = _hasher()

    if user is None:
        key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
        if key not in _dummy_hashes:
            _dummy_hashes[key] = hasher.hash(_DUMMY_PASSWORD)
        _check(hasher, _dummy_hashes[key], password)
        return False

    if not _check(hasher, user.password_hash, password):
        return False

    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


def _check(hasher, stored, password):
    try:
        return hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
