"""Operator commands: `flask users create` and `flask mfa reset`."""

import click
from flask import current_app
from flask.cli import AppGroup

from . import events, passwords, ratelimits, sessions
from .auth.forms import is_valid_email, normalize_email
from .extensions import db
from .mfa import methods
from .models import User

users_cli = AppGroup("users", help="Manage accounts.")
mfa_cli = AppGroup("mfa", help="Support tasks for multi-factor authentication.")


def _find_user(email):
    user = db.session.scalar(
        db.select(User).where(User.email == normalize_email(email))
    )
    if user is None:
        raise click.ClickException(f"No account with email {email}.")
    return user


@users_cli.command("create")
@click.argument("email")
def create_user(email):
    """Create an account; the password is asked for, never taken from history."""
    # A prompt, not an option: a password typed as an argument would be kept
    # in the shell history and shown in the process list.
    email = normalize_email(email)
    if not is_valid_email(email):
        raise click.ClickException(f"{email!r} is not a valid email address.")
    password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    config = current_app.config
    if (
        not config["PASSWORD_MIN_LENGTH"]
        <= len(password)
        <= config["PASSWORD_MAX_LENGTH"]
    ):
        raise click.ClickException(
            f"The password must be {config['PASSWORD_MIN_LENGTH']} to "
            f"{config['PASSWORD_MAX_LENGTH']} characters."
        )
    if db.session.scalar(db.select(User.id).where(User.email == email)):
        raise click.ClickException(f"An account with email {email} already exists.")

    user = User(email=email, password_hash=passwords.hash_password(password))
    db.session.add(user)
    db.session.flush()
    events.record(user, events.SIGNUP, detail="created from the command line")
    db.session.commit()
    click.echo(f"Created {email}. MFA will be set up at sign-in.")


@mfa_cli.command("reset")
@click.argument("email")
@click.option("--reason", required=True, help="Why support reset it (recorded).")
def reset_mfa(email, reason):
    """Remove every MFA method and backup code, and sign the user out everywhere."""
    user = _find_user(email)

    methods.reset(user)
    sessions.end_all(user)
    events.record(user, events.MFA_RESET, detail=reason[:255])
    db.session.commit()
    click.echo(f"MFA reset for {user.email}; every session ended.")


@mfa_cli.command("unblock")
@click.argument("email")
def unblock(email):
    """Clear an account's rate limits: wrong passwords and codes tried."""
    user = _find_user(email)

    ratelimits.clear_account(user)

    click.echo(f"Rate limits cleared for {user.email}.")
