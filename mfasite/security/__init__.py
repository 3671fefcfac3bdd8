from flask import Blueprint

bp = Blueprint("security", __name__, url_prefix="/account/security")

from . import sms_views, views, webauthn_views  # noqa: E402,F401
