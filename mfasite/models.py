"""Database tables. Times are naive UTC; secrets are stored encrypted or as HMACs."""

from flask_login import UserMixin
from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from . import clock
from .extensions import db


def _now():
    # Looked up at call time, so tests that move the clock move defaults too.
    return clock.now()


METHOD_TOTP = "totp"
METHOD_SMS = "sms"
METHOD_WEBAUTHN = "webauthn"
METHODS = (METHOD_SMS, METHOD_TOTP, METHOD_WEBAUTHN)


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[object] = mapped_column(DateTime, default=_now)
    # The method used first at sign-in; None means the account has no MFA yet.
    # Kept on the row so the MFA hook needs no query beyond loading the user.
    preferred_method: Mapped[str | None] = mapped_column(String(16))
    # Completed sign-ins without MFA, which the grace setting counts against.
    signins_without_mfa: Mapped[int] = mapped_column(Integer, default=0)
    # WebAuthn user handle: random, stable, never the email (WebAuthn 14.6.1).
    webauthn_user_id: Mapped[bytes | None] = mapped_column(LargeBinary(64), unique=True)

    # Set by the user loader: the server-side session this request belongs to.
    current_session = None

    def get_id(self):
        """Flask-Login's id is the server-side session's, so sign-out can end it."""
        return self.current_session.id if self.current_session else None

    @property
    def has_mfa(self):
        return self.preferred_method is not None


class UserSession(db.Model):
    """One signed-in browser; deleting the row signs that browser out."""

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    created_at: Mapped[object] = mapped_column(DateTime, default=_now)
    last_seen_at: Mapped[object] = mapped_column(DateTime, default=_now)
    # Last time the password (and a second factor) were checked in this session.
    authenticated_at: Mapped[object] = mapped_column(DateTime, default=_now)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    # "Keep me signed in": no idle timeout, a longer absolute lifetime.
    remembered: Mapped[bool] = mapped_column(default=False, server_default=false())
    # A pending security key registration (WebAuthn 13.4.3: server-side, single use).
    challenge: Mapped[bytes | None] = mapped_column(LargeBinary(64))
    challenge_expires_at: Mapped[object | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (Index("ix_user_session_user", "user_id"),)


class PendingSignIn(db.Model):
    """A correct password waiting for its second factor; the cookie holds the id."""

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    created_at: Mapped[object] = mapped_column(DateTime, default=_now)
    expires_at: Mapped[object] = mapped_column(DateTime)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    ip: Mapped[str | None] = mapped_column(String(45))
    remember: Mapped[bool] = mapped_column(default=False)
    sms_code_hmac: Mapped[str | None] = mapped_column(String(64))
    sms_code_expires_at: Mapped[object | None] = mapped_column(DateTime)
    # Set once the one SMS this sign-in may send has been attempted.
    sms_sent_at: Mapped[object | None] = mapped_column(DateTime)
    webauthn_challenge: Mapped[bytes | None] = mapped_column(LargeBinary(64))
    webauthn_challenge_expires_at: Mapped[object | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (Index("ix_pending_sign_in_user", "user_id"),)


class TotpDevice(db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    secret_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[object] = mapped_column(DateTime, default=_now)
    # None while enrolling; the device counts as a method only once confirmed.
    confirmed_at: Mapped[object | None] = mapped_column(DateTime)
    # The newest accepted 30-second step; older or equal steps are replays.
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_totp_device_user", "user_id"),)


class SmsDevice(db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    phone_e164: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[object] = mapped_column(DateTime, default=_now)
    confirmed_at: Mapped[object | None] = mapped_column(DateTime)
    # The enrollment code; sign-in codes live on the pending sign-in.
    code_hmac: Mapped[str | None] = mapped_column(String(64))
    code_expires_at: Mapped[object | None] = mapped_column(DateTime)
    code_attempts: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_sms_device_user", "user_id"),)


class SmsOptOut(db.Model):
    phone_e164: Mapped[str] = mapped_column(String(16), primary_key=True)
    opted_out_at: Mapped[object] = mapped_column(DateTime, default=_now)


class SmsSend(db.Model):
    """One message sent (or attempted), for the per-number hourly cap."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone_e164: Mapped[str] = mapped_column(String(16))
    sent_at: Mapped[object] = mapped_column(DateTime, default=_now)

    __table_args__ = (Index("ix_sms_send_phone_sent", "phone_e164", "sent_at"),)


class SmsInbound(db.Model):
    """An inbound reply already handled, so Twilio's retries change nothing twice."""

    message_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[object] = mapped_column(DateTime, default=_now)


class WebAuthnCredential(db.Model):
    __tablename__ = "webauthn_credential"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1023), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(1023))
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    transports: Mapped[str | None] = mapped_column(String(255))
    nickname: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[object] = mapped_column(DateTime, default=_now)
    last_used_at: Mapped[object | None] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("user_id", "nickname", name="uq_webauthn_credential_nickname"),
        Index("ix_webauthn_credential_user", "user_id"),
    )


class RecoveryCode(db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    code_hmac: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[object] = mapped_column(DateTime, default=_now)
    used_at: Mapped[object | None] = mapped_column(DateTime)

    __table_args__ = (Index("ix_recovery_code_user_hmac", "user_id", "code_hmac"),)


class SecurityEvent(db.Model):
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[object] = mapped_column(DateTime, default=_now)
    ip: Mapped[str | None] = mapped_column(String(45))
    detail: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (Index("ix_security_event_user_created", "user_id", "created_at"),)
