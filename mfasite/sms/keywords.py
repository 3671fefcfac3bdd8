"""What an inbound text asks for, by Twilio's default opt-out keywords."""

STOP = "stop"
START = "start"
HELP = "help"
OTHER = "other"

# Twilio's defaults, matched against the whole trimmed message in any case.
_KEYWORDS = {
    **dict.fromkeys(
        ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"),
        STOP,
    ),
    **dict.fromkeys(("START", "YES", "UNSTOP"), START),
    **dict.fromkeys(("HELP", "INFO"), HELP),
}

# Twilio's Advanced Opt-Out names the keyword's meaning in OptOutType, which
# also covers custom keywords configured on the account.
_OPT_OUT_TYPES = {"STOP": STOP, "START": START, "HELP": HELP}


def classify(body, opt_out_type=None):
    """Return STOP, START, HELP or OTHER for an inbound message."""
    declared = _OPT_OUT_TYPES.get((opt_out_type or "").strip().upper())
    if declared is not None:
        return declared
    return _KEYWORDS.get((body or "").strip().upper(), OTHER)
