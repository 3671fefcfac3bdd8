"""The one source of the current time, so tests can move it."""

from datetime import UTC, datetime, timedelta

# Tests move time forward by changing this; it stays zero in a running site.
offset = timedelta(0)


def now():
    """Return the current time as a naive UTC datetime (how the database stores it)."""
    return datetime.now(UTC).replace(tzinfo=None) + offset


def timestamp():
    """Return the current time as seconds since the epoch."""
    return now().replace(tzinfo=UTC).timestamp()
