"""Fixtures for security keys: a software authenticator and a user who has one."""

from datetime import timedelta

import pytest

from fakes.authenticator import SoftAuthenticator
from mfasite import clock

from .support import KeyActions


@pytest.fixture
def key():
    return SoftAuthenticator()


@pytest.fixture
def keys(client, app):
    return KeyActions(client, app)


@pytest.fixture
def user_with_key(actions, keys, key):
    """A signed-up user whose one method is a security key, signed out."""
    actions.signup()
    response = keys.enroll(key)
    assert response.status_code == 200, response.get_data(True)
    actions.signout()
    clock.offset += timedelta(seconds=1)
    return {"email": "ada@example.com", "key": key}
