"""Security headers, set on every response in one after-request hook."""

from flask import current_app, request

# Scripts and styles come only from our own static files: no inline script,
# no style attribute, no eval. The QR code is inline SVG markup, which needs
# nothing more. frame-ancestors 'none' stops the site being framed (clickjacking).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # For browsers that predate frame-ancestors.
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Paths can carry a next= target; other sites get nothing.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def secure_headers(response):
    """Add the security headers; pages are personal, so they are never cached."""
    for name, value in HEADERS.items():
        response.headers[name] = value

    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"

    max_age = current_app.config["HSTS_SECONDS"]
    if max_age:
        response.headers["Strict-Transport-Security"] = (
            f"max-age={max_age}; includeSubDomains"
        )
    return response
