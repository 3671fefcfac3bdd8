"""The benchmark: mfasite under gunicorn against a bare-Flask page, in one run."""
