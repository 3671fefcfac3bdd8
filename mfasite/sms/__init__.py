"""SMS: the sender backends, Twilio's webhook for replies, the development outbox."""


def is_development(app):
    """A development or test instance, where the console backend may run."""
    return bool(app.config["DEVELOPMENT"] or app.config["TESTING"] or app.debug)


def init_app(app):
    """Choose the sender; register the webhook, and the outbox for the console."""
    # Imported here: these modules use mfasite.mfa.sms, which imports the senders.
    from ..extensions import csrf
    from . import notice, senders
    from .outbox import bp as outbox_bp
    from .webhook import bp as webhook_bp

    sender = senders.build(app.config, is_development(app))
    app.extensions[senders.EXTENSION_KEY] = sender

    # Twilio cannot send our CSRF token; its request signature stands in for it.
    csrf.exempt(webhook_bp)
    app.register_blueprint(webhook_bp)
    if isinstance(sender, senders.ConsoleSender):
        app.register_blueprint(outbox_bp)
    app.context_processor(notice.template_context)
