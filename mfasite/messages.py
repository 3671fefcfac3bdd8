"""Every message a user reads about sign-in and MFA, in one place.

Wrong codes all get the same words, whatever the reason, and nothing here
says whether an account exists.
"""

INVALID_CREDENTIALS = "Invalid email or password."
INVALID_CODE = "That code didn't work. Check it and try again."
TOO_MANY_ATTEMPTS = "Too many incorrect codes. Please sign in again."
SIGNIN_EXPIRED = "Your sign-in expired. Please sign in again."
SIGNIN_CANCELLED = "Sign-in cancelled."
SIGNED_OUT = "You have been signed out."
SESSION_ENDED = "Your session has ended. Please sign in again."
SIGNIN_REQUIRED = "Please sign in to continue."

EMAIL_TAKEN = "An account with this email already exists. Sign in instead."
SIGNUP_DISABLED = "Sign-up is closed on this site."
PASSWORD_TOO_SHORT = "Use at least {min} characters."
PASSWORD_TOO_LONG = "Use at most {max} characters."
PASSWORDS_DIFFER = "The passwords do not match."
EMAIL_INVALID = "Enter a valid email address."

MFA_NAG = "Set up multi-factor authentication to keep your account safe."
MFA_REQUIRED = "Set up multi-factor authentication to continue using your account."

ENROLLMENT_NOT_STARTED = "That step has expired or was not started. Start again."
METHOD_ENABLED = "{label} is now active."
METHOD_REMOVED = "{label} was removed."
METHOD_NOT_REMOVABLE = "Add another method before removing your only one."
PREFERRED_SET = "{label} will be used first when you sign in."

BACKUP_CODE_ACCEPTED = "Backup code accepted. You have {left} backup codes left."
BACKUP_CODE_ONE_LEFT = "Backup code accepted. You have 1 backup code left."
BACKUP_CODE_LAST = (
    "Backup code accepted. That was your last one: create new backup codes now."
)
BACKUP_CODES_REGENERATED = "New backup codes created. The old ones no longer work."

REAUTH_NEEDED = "For your security, confirm it's you before changing sign-in methods."
REAUTH_FAILED = "That password or code didn't work."
CSRF_FAILED = (
    "This form expired or was sent without its security token. "
    "Reload the page and try again."
)

# SMS codes. "{phone}" is the user's number masked, "{number}" the program's.
PHONE_REQUIRED = "Enter your mobile phone number."
PHONE_LETTERS = "Enter the phone number with digits only, no letters."
PHONE_NOT_NANP = (
    "Enter a US or Canadian number: only country code +1 is supported for texts."
)
PHONE_TOO_SHORT = "That number is too short. Enter the area code and the 7 digits."
PHONE_NOT_TEXTABLE = (
    "Enter a mobile number: toll-free and premium-rate numbers can't get texts."
)
PHONE_INVALID = "That is not a valid phone number. Check the area code and number."
PHONE_REGION_REFUSED = "Texts can only go to numbers in these regions: {regions}."
SMS_CODE_SENT = "Enter the 6-digit code we sent to {phone}."
SMS_ENROLL_TOO_MANY = (
    "Too many incorrect codes. Enter your number again for a new code."
)
SMS_UNKNOWN_PROGRAM_NUMBER = "the number your codes come from"

# What a user reads when a code could not be texted, by where they are.
SMS_SIGNIN_NOTICES = {
    "opted_out": "You have opted out of SMS. Use a backup code, or text START to "
    "{number}.",
    "unsubscribed": "Your number has opted out of our texts. Text START to {number} "
    "or use another method.",
    "invalid_number": "We can't text {phone}: it is not a valid phone number. "
    "Use a backup code.",
    "not_mobile": "We can't text {phone}: it is not a mobile number. "
    "Use a backup code.",
    "failed": "The code could not be sent. Use a backup code, or cancel and sign in "
    "again in a few minutes.",
    "capped": "Too many codes were sent to your number in the last hour. "
    "Use a backup code, or try again later.",
    "unavailable": "Text message codes are not available right now. Use a backup code.",
}
SMS_ENROLL_NOTICES = {
    "opted_out": "This number has opted out of our texts. Text START to {number}, "
    "then try again.",
    "unsubscribed": "This number has opted out of our texts. Text START to {number}, "
    "then try again.",
    "invalid_number": "We can't text that number: it is not a valid phone number.",
    "not_mobile": "That is not a mobile number. Enter a number that can receive texts.",
    "failed": "The code could not be sent. Try again in a few minutes, or choose "
    "another method.",
    "capped": "Too many codes were sent to this number in the last hour. "
    "Try again later.",
    "unavailable": "Text message codes are not available on this site.",
}
SMS_REAUTH_NOTICES = {
    **SMS_SIGNIN_NOTICES,
    "failed": "The code could not be sent. Use a backup code, or try again in a few "
    "minutes.",
}
RATE_LIMITED = "Too many attempts. Please wait {wait} and try again."
# Keyed by budget name (ratelimits.py).
BUDGET_SPENT = {
    "second-factor": (
        "Too many verification codes were tried for this account. "
        "Please wait {wait} and try again."
    ),
    "sms-send": "Too many texts were asked for. Please wait {wait} and try again.",
}
LIMITS_UNAVAILABLE = (
    "Verification is briefly unavailable. Please try again in a minute."
)

SIGNED_OUT_EVERYWHERE = "You have been signed out everywhere."
OTHER_SESSIONS_ENDED = "Every other session was signed out."
PASSWORD_CHANGED = "Your password was changed. Every other session was signed out."
PASSWORD_UNCHANGED = "Choose a new password that differs from your current one."
SECURITY_KEY_FAILED = (
    "That security key could not be used. Try again, or use another method."
)
SECURITY_KEY_CANCELLED = (
    "The security key request was cancelled or timed out. Try again when your key "
    "is ready."
)
SECURITY_KEY_UNSUPPORTED = (
    "This browser cannot use security keys. Use another method, or a current "
    "version of Chrome, Edge, Firefox or Safari."
)
SECURITY_KEY_NEEDS_SCRIPT = (
    "Security keys need JavaScript. Turn it on for this site, or use another method."
)
SECURITY_KEY_REGISTERED = "This security key is already registered to your account."
KEY_NICKNAME_REQUIRED = "Enter a name for this key."
KEY_NICKNAME_TOO_LONG = "Use at most {max} characters."
KEY_NICKNAME_TAKEN = "You already have a key with this name."
KEY_ADDED = "Security key “{nickname}” was added."
KEY_RENAMED = "Security key renamed to “{nickname}”."
KEY_REMOVED = "Security key “{nickname}” was removed."
