"""``python -m smtpq``: the ``smtpq`` command (used to start detached flushers)."""

from smtpq.cli.main import main

main()
