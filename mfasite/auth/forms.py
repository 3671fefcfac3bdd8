"""Sign-up, sign-in and code forms."""

import re

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, ValidationError

from .. import messages

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(value):
    """Emails are compared trimmed and lower-cased."""
    return (value or "").strip().lower()


def is_valid_email(email):
    """A light shape check: one @, a dot in the domain, no spaces."""
    return len(email) <= 254 and bool(_EMAIL.match(email))


def _valid_email(form, field):
    if not is_valid_email(field.data):
        raise ValidationError(messages.EMAIL_INVALID)


def password_length(form, field):
    """The configured password length bounds, for every new password."""
    config = current_app.config
    if len(field.data) < config["PASSWORD_MIN_LENGTH"]:
        raise ValidationError(
            messages.PASSWORD_TOO_SHORT.format(min=config["PASSWORD_MIN_LENGTH"])
        )
    if len(field.data) > config["PASSWORD_MAX_LENGTH"]:
        raise ValidationError(
            messages.PASSWORD_TOO_LONG.format(max=config["PASSWORD_MAX_LENGTH"])
        )


class SignInForm(FlaskForm):
    email = StringField("Email", filters=[normalize_email], validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


class SignUpForm(FlaskForm):
    email = StringField(
        "Email", filters=[normalize_email], validators=[DataRequired(), _valid_email]
    )
    password = PasswordField("Password", validators=[DataRequired(), password_length])
    confirm = PasswordField(
        "Confirm password",
        validators=[DataRequired(), EqualTo("password", messages.PASSWORDS_DIFFER)],
    )


class CodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired()])


class ChallengeForm(CodeForm):
    # Offered only here, after the password: a remembered session has passed
    # the second factor too.
    remember = BooleanField("Keep me signed in on this device")
