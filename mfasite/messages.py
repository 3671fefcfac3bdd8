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
