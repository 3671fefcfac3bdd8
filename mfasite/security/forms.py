"""Forms of the Password & Security page and its enrollment steps."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo

from .. import messages
from ..auth.forms import password_length


class VerifyCodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired()])


class ReauthForm(FlaskForm):
    password = PasswordField("Password", validators=[DataRequired()])
    code = StringField("Code")
    next = HiddenField()


class ConfirmForm(FlaskForm):
    """A button-only form: the CSRF token is its whole content."""


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    code = StringField("Code")
    new_password = PasswordField(
        "New password", validators=[DataRequired(), password_length]
    )
    confirm = PasswordField(
        "Confirm new password",
        validators=[
            DataRequired(),
            EqualTo("new_password", messages.PASSWORDS_DIFFER),
        ],
    )
