"""The option table of msmtp 1.8.23's command line, plus smtpq's own additions.

This module owns *which* options exist and what kind of argument each takes;
``getopt`` owns how argv is scanned, ``parser`` what each option does.

The long options are listed in msmtp 1.8.23's order: GNU getopt_long lists the
candidates of an ambiguous prefix in table order, so the order is observable
(``option '--re' is ambiguous; possibilities: '--remove-bcc-headers' …``).
"""

from __future__ import annotations


class ArgKind:
    """getopt_long's ``has_arg`` (constants, not an ``enum``: see smtpq.sender.sysexits)."""

    NONE = 0
    REQUIRED = 1
    OPTIONAL = 2  # only attached: ``--opt=value`` / ``-dVALUE``


#: msmtp's getopt string, verbatim.
MSMTP_SHORT_OPTIONS = "Pd::SC:a:f:N:R:X:tA:B:b:F:Gh:iL:mnO:o:v"

#: smtpq adds ``-q[ARG]`` (flush the queue); sendmail spells its argument attached.
SMTPQ_SHORT_OPTIONS = "q::"

#: Options that msmtp rejects and smtpq accepts on purpose (differential tests skip them).
SMTPQ_ONLY = frozenset({"q", "send-now"})

_N, _R, _O = ArgKind.NONE, ArgKind.REQUIRED, ArgKind.OPTIONAL

#: (name, argument kind, key) in msmtp 1.8.23's order.  The key is the short
#: option letter when the long option is an alias of one, else the long name.
LONG_OPTIONS: tuple[tuple[str, int, str], ...] = (
    ("version", _N, "version"),
    ("help", _N, "help"),
    ("configure", _R, "configure"),
    ("pretend", _N, "P"),
    ("debug", _O, "d"),  # optional argument for sendmail compatibility
    ("serverinfo", _N, "S"),
    ("rmqs", _R, "rmqs"),
    ("file", _R, "C"),
    ("account", _R, "a"),
    ("host", _R, "host"),
    ("port", _R, "port"),
    ("timeout", _R, "timeout"),
    ("connect-timeout", _R, "timeout"),  # msmtp <= 1.4.1
    ("auto-from", _O, "auto-from"),
    ("from", _R, "f"),
    ("maildomain", _R, "maildomain"),
    ("auth", _O, "auth"),
    ("user", _R, "user"),
    ("passwordeval", _R, "passwordeval"),
    ("tls", _O, "tls"),
    ("tls-starttls", _O, "tls-starttls"),
    ("tls-trust-file", _R, "tls-trust-file"),
    ("tls-crl-file", _R, "tls-crl-file"),
    ("tls-fingerprint", _R, "tls-fingerprint"),
    ("tls-key-file", _R, "tls-key-file"),
    ("tls-cert-file", _R, "tls-cert-file"),
    ("tls-certcheck", _O, "tls-certcheck"),
    ("tls-force-sslv3", _O, "tls-force-sslv3"),  # ignored, msmtp <= 1.4.32
    ("tls-min-dh-prime-bits", _R, "tls-min-dh-prime-bits"),
    ("tls-priorities", _R, "tls-priorities"),
    ("tls-host-override", _R, "tls-host-override"),
    ("dsn-notify", _R, "N"),
    ("dsn-return", _R, "R"),
    ("protocol", _R, "protocol"),
    ("domain", _R, "domain"),
    ("logfile", _R, "X"),
    ("logfile-time-format", _R, "logfile-time-format"),
    ("syslog", _O, "syslog"),
    ("aliases", _R, "aliases"),
    ("proxy-host", _R, "proxy-host"),
    ("proxy-port", _R, "proxy-port"),
    ("add-missing-from-header", _O, "add-missing-from-header"),  # msmtp < 1.8.8
    ("add-missing-date-header", _O, "add-missing-date-header"),  # msmtp < 1.8.8
    ("set-from-header", _O, "set-from-header"),
    ("set-date-header", _O, "set-date-header"),
    ("set-msgid-header", _O, "set-msgid-header"),
    ("remove-bcc-headers", _O, "remove-bcc-headers"),
    ("undisclosed-recipients", _O, "undisclosed-recipients"),
    ("source-ip", _R, "source-ip"),
    ("socket", _R, "socket"),
    ("keepbcc", _O, "keepbcc"),  # msmtp 1.4.x
    ("read-recipients", _N, "t"),
    ("read-envelope-from", _N, "read-envelope-from"),
    # smtpq's additions go last so that msmtp's candidates keep their order.
    ("send-now", _N, "send-now"),
)


def parse_short_options(spec: str) -> dict[str, int]:
    """``"ab:c::"`` → ``{"a": NONE, "b": REQUIRED, "c": OPTIONAL}`` (getopt(3) syntax)."""
    table: dict[str, int] = {}
    i = 0
    while i < len(spec):
        letter = spec[i]
        colons = len(spec[i + 1:i + 3]) - len(spec[i + 1:i + 3].lstrip(":"))
        table[letter] = (_N, _R, _O)[colons]
        i += 1 + colons
    return table


SHORT_OPTIONS: dict[str, int] = parse_short_options(MSMTP_SHORT_OPTIONS + SMTPQ_SHORT_OPTIONS)

#: msmtp 1.8.23's tables alone (``parse_args(…, extensions=False)``).
MSMTP_SHORT_TABLE: dict[str, int] = parse_short_options(MSMTP_SHORT_OPTIONS)
MSMTP_LONG_OPTIONS = tuple(entry for entry in LONG_OPTIONS if entry[0] not in SMTPQ_ONLY)
