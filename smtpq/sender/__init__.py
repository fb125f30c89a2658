"""The msmtp part of smtpq: configuration, options, message, protocol, TLS, auth, logging.

Nothing in here imports from ``smtpq.queue`` or ``smtpq.cli``.
"""
