from flask import Blueprint

bp = Blueprint("auth", __name__)

from . import security_key, views  # noqa: E402,F401
