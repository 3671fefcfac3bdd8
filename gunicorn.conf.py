"""Gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every instance keeps its state in PostgreSQL and Redis, so any number of
instances (and workers) can serve the same users behind a load balancer.
"""

import os

bind = os.environ.get("MFASITE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads let a worker serve pages while another request waits on Argon2,
# which releases the GIL while it hashes.
worker_class = "gthread"
threads = int(os.environ.get("MFASITE_THREADS", "4"))
timeout = 30
graceful_timeout = 20

# The site logs what matters (sign-ins, refusals) itself; an access log line
# per request would cost more than it tells. Errors go to stderr.
accesslog = None
errorlog = "-"
loglevel = "info"

# Gunicorn 27 opens a control socket in $HOME by default; a production
# instance is controlled with signals by its supervisor instead.
control_socket_disable = True
