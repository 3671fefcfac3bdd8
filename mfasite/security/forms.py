"""Forms of the Password & Security page and its enrollment steps."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired


class VerifyCodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired()])


class ReauthForm(FlaskForm):
    password = PasswordField("Password", validators=[DataRequired()])
    code = StringField("Code")
    next = HiddenField()


class ConfirmForm(FlaskForm):
    """A button-only form: the CSRF token is its whole content."""
