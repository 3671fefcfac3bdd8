"""Second-factor logic: plain functions with no request, session or flash in them."""
