"""Extensions, created once and attached to the app by create_app."""

from flask import request
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
_naming = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=_naming))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


def client_ip():
    """The client's address, as ProxyFix resolved it behind trusted proxies."""
    return request.remote_addr or "unknown"


# Moving windows: no burst at a window's edge, and Retry-After is when the
# oldest counted attempt leaves the window. Storage errors are swallowed for
# the per-request limits (the password step stays usable if Redis is down);
# code entry checks its budget itself and fails closed (see ratelimits.py).
limiter = Limiter(
    key_func=client_ip,
    strategy="moving-window",
    swallow_errors=True,
    storage_options={
        "wrap_exceptions": True,
        "socket_connect_timeout": 2,
        "socket_timeout": 2,
    },
)
