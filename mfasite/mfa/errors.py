"""Why a second factor was refused. Users see one message; operators see the kind."""


class MfaError(Exception):
    """A second factor or enrollment step was refused."""


class InvalidCode(MfaError):
    """The code does not match."""


class CodeExpired(MfaError):
    """The code or challenge is past its lifetime."""


class CodeReplayed(MfaError):
    """The code was already used."""


class TooManyAttempts(MfaError):
    """Too many wrong codes: the code or sign-in is void."""


class EnrollmentNotStarted(MfaError):
    """A later enrollment step was reached without the earlier one."""


class MethodUnavailable(MfaError):
    """The method cannot be used right now (for example, SMS opted out)."""


class InvalidResponse(MfaError):
    """A security key's answer failed a WebAuthn check or could not be read."""


class CredentialInUse(MfaError):
    """The security key being registered is already registered."""


class SignCountRegressed(MfaError):
    """A key's signature counter did not increase: the key may have been cloned."""

    def __init__(self, message, nickname):
        super().__init__(message)
        self.nickname = nickname
