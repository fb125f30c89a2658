"""smtpq: an msmtp-compatible SMTP client and sendmail with a durable queue.

Layers (data flows one way): ``smtpq.cli`` -> ``smtpq.queue`` -> ``smtpq.sender``.
"""

__version__ = "0.1.0"
