"""The ``smtpq`` subcommands, one thin click module each."""
