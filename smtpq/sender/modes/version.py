"""``--version``: version, TLS library, authentication methods and file locations (as msmtp)."""

from __future__ import annotations

import os
import platform
import ssl
from collections.abc import Mapping

from smtpq import __version__
from smtpq.sender.config.values import AUTH_ARGUMENTS

MSMTP_COMPATIBLE = "1.8.23"


def version_text(prog: str, *, env: Mapping[str, str], system_file: str, user_file: str) -> str:
    """The ``--version`` output, in msmtp's layout."""
    methods = " ".join(_ordered_methods()) + " "
    lines = [
        f"{prog} (smtpq) version {__version__}, compatible with msmtp {MSMTP_COMPATIBLE}",
        f"Platform: {platform.machine()}-{platform.system().lower()}, Python {platform.python_version()}",
        f"TLS/SSL library: {ssl.OPENSSL_VERSION} (Python ssl)",
        "Authentication library: built-in; SCRAM: scramp; NTLM, GSSAPI: pyspnego",
        "Supported authentication methods:",
        methods,
        "IDN support: enabled (idna)",
        "NLS: disabled",
        "Keyring support: Python keyring (service smtp, host, user)",
        f"System configuration file name: {system_file}",
        f"User configuration file name: {_tilde(user_file, env)}",
        f"Queue database: {_queue_database(env)}",
        "",
        "smtpq is free software; it comes with NO WARRANTY.",
    ]
    return "\n".join(lines) + "\n"


def _ordered_methods() -> list[str]:
    # msmtp prints them in this order; keep it so scripts that grep it still work.
    order = ("plain", "scram-sha-1", "scram-sha-256", "external", "gssapi", "cram-md5",
             "digest-md5", "login", "ntlm", "oauthbearer", "xoauth2")
    from smtpq.sender.auth.sasl.gss import gssapi_available

    # GSSAPI only when it works: the kerberos extra is optional (msmtp likewise
    # lists only what its SASL library supports).
    unsupported = () if gssapi_available() else ("gssapi",)
    return [m for m in order if m in AUTH_ARGUMENTS and m not in unsupported]


def _tilde(path: str, env: Mapping[str, str]) -> str:
    home = env.get("HOME", "")
    if home and path.startswith(home.rstrip("/") + "/"):
        return "~" + path[len(home.rstrip("/")):]
    return path


def _queue_database(env: Mapping[str, str]) -> str:
    if env.get("SMTPQ_DATABASE"):
        return "$SMTPQ_DATABASE"
    data_home = env.get("XDG_DATA_HOME") or os.path.join(env.get("HOME", "~"), ".local/share")
    return _tilde(os.path.join(data_home, "smtpq", "queue.sqlite3"), env)
