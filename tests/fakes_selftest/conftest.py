import pytest

from fakes import twilio_api

fake_twilio = pytest.fixture(twilio_api.fake_twilio_api)
