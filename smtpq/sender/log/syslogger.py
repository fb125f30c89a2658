"""Sending the log line to syslog as msmtp's ``msmtp_log_to_syslog`` does.

The ident is ``msmtp``, not ``smtpq``: msmtp opens syslog with its package
name, and log watchers (logcheck, fail2ban, logwatch filters) match on it; a
drop-in replacement keeps the lines where they are looked for.  Priority is
LOG_INFO for a success and LOG_ERR for a failure; the facility is the
account's ``syslog`` setting (LOG_USER, LOG_MAIL, LOG_LOCAL0..7).
"""

from __future__ import annotations

IDENT = "msmtp"


def log_to_syslog(facility: str, line: str, *, error: bool, ident: str = IDENT) -> None:
    """Log *line* (without time stamp) at *facility* with LOG_ERR if *error*, else LOG_INFO."""
    import syslog

    syslog.openlog(ident, 0, facility_code(facility))
    try:
        # syslog(3) takes C strings: undecodable argv bytes must not raise here.
        text = line.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        syslog.syslog(syslog.LOG_ERR if error else syslog.LOG_INFO, text)
    finally:
        syslog.closelog()


def facility_code(name: str) -> int:
    """LOG_USER/LOG_MAIL/LOG_LOCALn → the facility number (else LOG_LOCAL7, as msmtp)."""
    import syslog

    if name == "LOG_MAIL":
        return syslog.LOG_MAIL
    if name == "LOG_USER":
        return syslog.LOG_USER
    local = {f"LOG_LOCAL{i}": int(getattr(syslog, f"LOG_LOCAL{i}")) for i in range(8)}
    return local.get(name, syslog.LOG_LOCAL7)
