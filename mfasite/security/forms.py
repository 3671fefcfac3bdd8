"""Forms of the Password & Security page and its enrollment steps."""

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from .. import messages
from ..auth.forms import password_length
from ..mfa import phone
from ..mfa.webauthn import NICKNAME_MAX, clean_nickname


class VerifyCodeForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired()])


class ReauthForm(FlaskForm):
    password = PasswordField("Password", validators=[DataRequired()])
    code = StringField("Code")
    next = HiddenField()


class ConfirmForm(FlaskForm):
    """A button-only form: the CSRF token is its whole content."""


class PhoneForm(FlaskForm):
    """SMS enrollment, step 1. Only +1 is offered: the program texts NANP numbers."""

    country = SelectField(
        "Country",
        choices=[SelectChoice("+1", "+1 (US, Canada)")],
        validate_choice=False,
    )
    phone = StringField(
        "Phone number", validators=[DataRequired(messages.PHONE_REQUIRED)]
    )

    def validate_phone(self, field):
        if self.country.data != "+1":
            raise ValidationError(messages.PHONE_NOT_NANP)
        regions = [r.upper() for r in current_app.config["SMS_ALLOWED_REGIONS"]]
        try:
            self.e164 = phone.parse(field.data, regions)
        except phone.PhoneError as error:
            raise ValidationError(str(error)) from None


class SendCodeForm(FlaskForm):
    """Re-authentication: text a code to the active number."""

    next = HiddenField()


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
