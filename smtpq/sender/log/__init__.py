"""msmtp's log line, the log file (fcntl-locked append) and syslog.

``format_log_line(LogRecord)`` builds the line; ``log_to_file`` prefixes the
time and appends it (or returns msmtp's failure messages); ``log_to_syslog``
sends it to syslog.  The same line goes into the queue's attempt history.
"""

from smtpq.sender.log.line import LogRecord, format_log_line
from smtpq.sender.log.logfile import log_to_file, log_time
from smtpq.sender.log.syslogger import log_to_syslog

__all__ = ["LogRecord", "format_log_line", "log_time", "log_to_file", "log_to_syslog"]
