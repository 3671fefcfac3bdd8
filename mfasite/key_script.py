"""The server's side of static/js/security-key.js: its settings out, its JSON in.

The script posts a JSON body with the X-CSRFToken header and is answered as
HTMX would be: HX-Redirect for a new page, or HTML that replaces its step.
"""

import json

from flask import current_app, request
from flask_wtf.csrf import generate_csrf

from . import messages
from .htmx import hx_redirect
from .mfa.errors import InvalidResponse


def config(mode, options, url, target):
    """Settings for one "Use security key" button, for `|tojson` in the page."""
    return {
        "mode": mode,
        "options": options,
        "url": url,
        "target": target,
        "csrfToken": generate_csrf(),
        "messages": {
            "cancelled": messages.SECURITY_KEY_CANCELLED,
            "unsupported": messages.SECURITY_KEY_UNSUPPORTED,
            "failed": messages.SECURITY_KEY_FAILED,
            "registered": messages.SECURITY_KEY_REGISTERED,
            "noscript": messages.SECURITY_KEY_NEEDS_SCRIPT,
        },
    }


def json_body():
    """Return the posted JSON object; raise InvalidResponse for anything else.

    The size is checked before a byte is read.
    """
    limit = current_app.config["WEBAUTHN_MAX_BODY"]
    length = request.content_length
    if length is None or length > limit:
        raise InvalidResponse(f"body of {length} bytes (limit {limit})")
    if not request.is_json:
        raise InvalidResponse(f"body of type {request.mimetype!r}, not JSON")

    try:
        body = json.loads(request.get_data())
    except (ValueError, RecursionError) as error:
        raise InvalidResponse("malformed JSON") from error
    if not isinstance(body, dict):
        raise InvalidResponse("JSON body is not an object")
    return body


# The script follows HX-Redirect exactly as HTMX does.
redirect = hx_redirect
