"""msmtp's log line, the log file (fcntl-locked append) and syslog.

``format_log_line(LogRecord)`` builds the line; ``log_to_file`` prefixes the
time and appends it (or returns msmtp's failure messages); ``log_to_syslog``
sends it to syslog.  The same line goes into the queue's attempt history.

The names are imported on first use: every delivery builds a log line, but
only an account with ``logfile`` or ``syslog`` needs the writers.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from smtpq.sender.log.line import LogRecord, format_log_line
    from smtpq.sender.log.logfile import log_time, log_to_file
    from smtpq.sender.log.syslogger import log_to_syslog

_EXPORTS = {"LogRecord": "line", "format_log_line": "line", "log_time": "logfile",
            "log_to_file": "logfile", "log_to_syslog": "syslogger"}

__all__ = ["LogRecord", "format_log_line", "log_time", "log_to_file", "log_to_syslog"]


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = __import__(f"{__name__}.{_EXPORTS[name]}", fromlist=[name])
    return getattr(module, name)
