"""Forms of the Password & Security page and its enrollment steps."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from .. import messages
from ..mfa.webauthn import NICKNAME_MAX, clean_nickname


class VerifyCodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired()])


class ReauthForm(FlaskForm):
    password = PasswordField("Password", validators=[DataRequired()])
    code = StringField("Code")
    next = HiddenField()


class ConfirmForm(FlaskForm):
    """A button-only form: the CSRF token is its whole content."""


class KeyNicknameForm(FlaskForm):
    nickname = StringField(
        "Nickname",
        filters=[clean_nickname],
        validators=[
            DataRequired(messages.KEY_NICKNAME_REQUIRED),
            Length(
                max=NICKNAME_MAX,
                message=messages.KEY_NICKNAME_TOO_LONG.format(max=NICKNAME_MAX),
            ),
        ],
    )
