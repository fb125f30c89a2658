"""``python -m smtpq``: the ``smtpq`` command (used to start detached flushers)."""

from smtpq.cli.entry import smtpq_main

smtpq_main()
