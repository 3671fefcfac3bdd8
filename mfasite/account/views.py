"""The signed-in home page and the Your profile page of Account settings."""

from flask import render_template
from flask_login import login_required

from . import bp


@bp.route("/")
@login_required
def home():
    """The landing page after sign-in."""
    return render_template("account/home.html")


@bp.route("/account")
@login_required
def profile():
    """Account settings > Your profile."""
    return render_template("account/profile.html")
