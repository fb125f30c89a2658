"""A command line's settings written back as a canonical argv, for the queue to store.

The queue re-applies the command line at flush time, from another working
directory and long after the caller's shell is gone.  So it stores neither the
raw argv (relative paths, abbreviations, msmtp's option quirks) nor a shell
string (msmtpq's ``echo "$@"`` loses quoting), but this: one ``--long=value``
per setting the command line changed, paths made absolute.  It never holds a
password: msmtp has no option that carries one.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from smtpq.sender.config.settings import Account
from smtpq.sender.options.commandline import CommandLine

_Fmt = Callable[[object, str], str]


def _text(value: object, cwd: str) -> str:
    return "" if value is None else str(value)


def _path(value: object, cwd: str) -> str:
    if value is None or value in ("", "-", "system"):
        return "" if value is None else str(value)
    return os.path.join(cwd, str(value))  # join keeps an absolute value as it is


def _on_off(value: object, cwd: str) -> str:
    return "on" if value else "off"


def _int_or_off(value: object, cwd: str) -> str:
    return str(value) if value else "off"


def _auth(value: object, cwd: str) -> str:
    return "off" if value is None else ("on" if value == "" else str(value).lower())


def _lower_or_off(value: object, cwd: str) -> str:
    return "off" if value is None else str(value).lower()


def _dsn_return(value: object, cwd: str) -> str:
    return {"HDRS": "headers", "FULL": "full"}.get(str(value), "off")


def _fingerprint(value: object, cwd: str) -> str:
    return ":".join(f"{b:02X}" for b in value) if isinstance(value, bytes) else ""


def _enum(value: object, cwd: str) -> str:
    return str(value)  # HeaderPolicy and Protocol values are their text


#: Account field → (long option, formatter); ``from_`` is stored as the envelope instead.
FIELDS: dict[str, tuple[str, _Fmt]] = {
    "port": ("port", _text), "source_ip": ("source-ip", _text),
    "proxy_host": ("proxy-host", _text), "proxy_port": ("proxy-port", _text),
    "socket": ("socket", _path), "timeout": ("timeout", _int_or_off),
    "protocol": ("protocol", _enum), "domain": ("domain", _text), "auth": ("auth", _auth),
    "user": ("user", _text), "passwordeval": ("passwordeval", _text),
    "tls": ("tls", _on_off), "tls_starttls": ("tls-starttls", _on_off),
    "tls_trust_file": ("tls-trust-file", _path), "tls_crl_file": ("tls-crl-file", _path),
    "tls_fingerprint": ("tls-fingerprint", _fingerprint),
    "tls_key_file": ("tls-key-file", _path), "tls_cert_file": ("tls-cert-file", _path),
    "tls_certcheck": ("tls-certcheck", _on_off),
    "tls_min_dh_prime_bits": ("tls-min-dh-prime-bits", _text),
    "tls_priorities": ("tls-priorities", _text), "tls_host_override": ("tls-host-override", _text),
    "auto_from": ("auto-from", _on_off), "maildomain": ("maildomain", _text),
    "dsn_notify": ("dsn-notify", _lower_or_off), "dsn_return": ("dsn-return", _dsn_return),
    "set_from_header": ("set-from-header", _enum), "set_date_header": ("set-date-header", _enum),
    "set_msgid_header": ("set-msgid-header", _enum),
    "remove_bcc_headers": ("remove-bcc-headers", _on_off),
    "undisclosed_recipients": ("undisclosed-recipients", _on_off),
    "logfile": ("logfile", _path), "logfile_time_format": ("logfile-time-format", _text),
    "syslog": ("syslog", lambda v, cwd: "off" if v is None else str(v)),
    "aliases": ("aliases", _path),
}


def canonical_argv(cmd: CommandLine, cwd: str) -> list[str]:
    """The configuration part of *cmd* as ``--long=value`` options, paths absolute."""
    argv: list[str] = []
    if cmd.config_file is not None:
        argv.append("--file=" + _path(cmd.config_file, cwd))
    if cmd.host is not None:
        argv.append("--host=" + cmd.host)
    elif cmd.account_name is not None:
        argv.append("--account=" + cmd.account_name)
    argv += override_options(cmd.overrides, cwd)
    return argv


def override_options(overrides: Account, cwd: str) -> list[str]:
    """One option per field the command line set, in a stable order."""
    return [f"--{option}={fmt(getattr(overrides, field), cwd)}"
            for field, (option, fmt) in FIELDS.items() if field in overrides.explicit]
