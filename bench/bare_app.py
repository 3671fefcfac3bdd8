"""The bare-Flask limit: a plain string, and a page on the site's own base template.

Served by gunicorn exactly as the site is: `gunicorn bench.bare_app:app`.
"""

import os
from pathlib import Path

from flask import Blueprint, Flask, render_template
from flask_wtf.csrf import CSRFProtect
from jinja2 import ChoiceLoader, FileSystemLoader

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


class _Anonymous:
    """What base.html asks of current_user, without Flask-Login."""

    is_authenticated = False


def _stub(name, path):
    """A blueprint that only gives base.html the endpoint names it links to."""
    blueprint = Blueprint(name, __name__)
    blueprint.add_url_rule(path, "home", lambda: "")
    return blueprint


def create_bare_app():
    app = Flask(__name__, static_folder=str(ROOT / "static"))
    app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "bare app")
    app.jinja_loader = ChoiceLoader(
        [FileSystemLoader(HERE / "templates"), FileSystemLoader(ROOT / "templates")]
    )
    CSRFProtect(app)

    auth = Blueprint("auth", __name__)
    auth.add_url_rule("/signin", "signin", lambda: "")
    auth.add_url_rule("/signup", "signup", lambda: "")
    app.register_blueprint(auth)
    app.register_blueprint(_stub("account", "/account"))

    @app.context_processor
    def inject():
        return {
            "site_name": "mfasite",
            "signup_enabled": True,
            "mfa_nag_left": None,
            "mfa_blocked": False,
            "current_user": _Anonymous(),
        }

    @app.route("/plain")
    def plain():
        return "Hello, World!"

    @app.route("/page")
    def page():
        return render_template("bare_page.html")

    return app


app = create_bare_app()
