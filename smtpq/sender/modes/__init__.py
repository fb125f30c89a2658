"""msmtp's modes of operation: pretend, version, help, server information, ETRN, direct send."""
