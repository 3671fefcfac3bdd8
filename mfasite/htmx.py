"""Answers that work both for a full page load and for an HTMX request."""

from flask import current_app, redirect, request


def is_htmx():
    return request.headers.get("HX-Request") == "true"


def hx_redirect(url):
    """Tell HTMX (or the security-key script) to load a whole new page."""
    response = current_app.response_class(status=204)
    response.headers["HX-Redirect"] = url
    return response


def redirect_to(url, code=303):
    """Redirect a page load; an HTMX swap cannot follow one, so tell HTMX instead."""
    return hx_redirect(url) if is_htmx() else redirect(url, code)
