"""Authenticator app codes (RFC 6238): enrollment and verification."""

import hmac
import io

import pyotp
import qrcode
import qrcode.image.svg
from sqlalchemy import or_, update
from sqlalchemy.orm.attributes import set_committed_value

from .. import clock
from ..extensions import db
from ..models import TotpDevice
from . import crypto, methods
from .errors import CodeReplayed, EnrollmentNotStarted, InvalidCode

STEP_SECONDS = 30
# RFC 6238 section 5.2: accept one step either side for clock drift.
DRIFT_STEPS = 1


def normalize(code):
    """Drop spaces and dashes people type or paste between the digits."""
    return "".join(ch for ch in (code or "") if ch not in " -\t")


def matching_step(secret, code, at):
    """Return the time step whose code matches, or raise InvalidCode."""
    code = normalize(code)
    # isdigit() alone lets other scripts' digits through, which compare_digest
    # cannot compare: only ASCII digits are a code.
    if len(code) != 6 or not (code.isascii() and code.isdigit()):
        raise InvalidCode("not six digits")

    totp = pyotp.TOTP(secret)
    current = int(at // STEP_SECONDS)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    raise InvalidCode("no step matches")


def secret_of(device):
    return crypto.decrypt(device.secret_encrypted)


def verify(device, code):
    """Accept a code once: the step must be newer than the last one accepted.

    The check and the update are one conditional UPDATE, so two instances
    racing with the same code give one success.
    """
    step = matching_step(secret_of(device), code, clock.timestamp())

    result = db.session.execute(
        update(TotpDevice)
        .where(
            TotpDevice.id == device.id,
            or_(
                TotpDevice.last_used_step.is_(None),
                TotpDevice.last_used_step < step,
            ),
        )
        .values(last_used_step=step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise CodeReplayed("step already used")
    # The UPDATE stored the step already; assigning it would flush a second one.
    set_committed_value(device, "last_used_step", step)


def confirmed_device(user):
    return methods.device_of(TotpDevice, user, confirmed=True)


def pending_device(user):
    return methods.device_of(TotpDevice, user, confirmed=False)


def start_enrollment(user):
    """Create a fresh unconfirmed device; an existing active device is untouched."""
    db.session.execute(
        db.delete(TotpDevice).where(
            TotpDevice.user_id == user.id, TotpDevice.confirmed_at.is_(None)
        )
    )
    device = TotpDevice(
        user_id=user.id, secret_encrypted=crypto.encrypt(pyotp.random_base32())
    )
    db.session.add(device)
    db.session.flush()
    return device


def confirm_enrollment(user, code):
    """Verify the first code from the new device and mark it confirmed."""
    device = pending_device(user)
    if device is None:
        raise EnrollmentNotStarted("no authenticator enrollment in progress")

    verify(device, code)
    return methods.confirm_device(device)


def provisioning_uri(secret, email, site_name):
    """The otpauth:// URI, labelled "<site name>:<email>" (Key Uri Format)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=site_name)


def qr_svg(uri):
    """Render the URI as an inline SVG QR code (no image library needed)."""
    image = qrcode.make(
        uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2
    )
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    return svg[svg.index("<svg") :]
