"""The resolved settings of one msmtp account, field for field as msmtp keeps them.

This dataclass is the contract between the configuration parser, the command
line, ``--pretend`` and the delivery engine.  ``explicit`` records which fields
were set by a command (msmtp's ``mask``): only those are inherited through
``account NAME : PARENT`` and only those count as overrides on the command line.
"""

from __future__ import annotations

import dataclasses
import enum


class Protocol(enum.Enum):
    SMTP = "smtp"
    LMTP = "lmtp"


class HeaderPolicy(enum.Enum):
    """``set_from_header`` / ``set_date_header`` / ``set_msgid_header`` values."""

    AUTO = "auto"
    ON = "on"
    OFF = "off"


#: ``auth on``: msmtp chooses the method (``--pretend`` prints ``choose``).
AUTH_CHOOSE = ""

#: Methods msmtp 1.8.23 (GNU SASL build) accepts for ``auth``, in upper case.
AUTH_METHODS = (
    "PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256", "OAUTHBEARER", "XOAUTH2", "CRAM-MD5",
    "GSSAPI", "EXTERNAL", "DIGEST-MD5", "LOGIN", "NTLM",
)


@dataclasses.dataclass
class Account:
    """One account as msmtp resolves it; ``None`` means "not set"."""

    name: str = ""
    conffile: str | None = None  # file that defined it; None for --host / env accounts
    explicit: set[str] = dataclasses.field(default_factory=set)

    # General
    host: str | None = None
    port: int = 0  # 0: not set; the default (25/465/none for LMTP) is applied later
    source_ip: str | None = None
    proxy_host: str | None = None
    proxy_port: int = 0
    socket: str | None = None
    timeout: int = 0  # seconds; 0 means off
    protocol: Protocol = Protocol.SMTP
    domain: str = "localhost"

    # Authentication: auth is None (off), AUTH_CHOOSE (on) or a method name
    auth: str | None = None
    user: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)  # never in a repr
    passwordeval: str | None = None
    ntlmdomain: str | None = None

    # TLS
    tls: bool = False
    tls_starttls: bool = True
    tls_trust_file: str | None = "system"
    tls_crl_file: str | None = None
    tls_fingerprint: bytes | None = None  # raw digest: 32 (SHA256), 20 (SHA1) or 16 (MD5) bytes
    tls_key_file: str | None = None
    tls_cert_file: str | None = None
    tls_certcheck: bool = True
    tls_min_dh_prime_bits: int | None = None
    tls_priorities: str | None = None
    tls_host_override: str | None = None

    # Sendmail mode
    from_: str | None = None
    auto_from: bool = False
    maildomain: str | None = None
    allow_from_override: bool = True
    dsn_notify: str | None = None  # upper case, e.g. "FAILURE,DELAY"; "NEVER"
    dsn_return: str | None = None  # "HDRS" or "FULL"
    set_from_header: HeaderPolicy = HeaderPolicy.AUTO
    set_date_header: HeaderPolicy = HeaderPolicy.AUTO
    set_msgid_header: HeaderPolicy = HeaderPolicy.AUTO
    remove_bcc_headers: bool = True
    undisclosed_recipients: bool = False
    logfile: str | None = None
    logfile_time_format: str | None = None
    syslog: str | None = None  # facility name such as "LOG_USER"; None is off
    aliases: str | None = None

    # Where a password set by the literal ``password`` command came from, for
    # the permission check (msmtp checks only the user file, only literal lines).
    password_from_file: str | None = None

    def copy(self) -> Account:
        """A deep-enough copy (``explicit`` is the only mutable field)."""
        return dataclasses.replace(self, explicit=set(self.explicit))

    def override_from(self, other: Account) -> None:
        """Copy over every field *other* set explicitly (msmtp's ``override_account``)."""
        for field in other.explicit:
            setattr(self, field, getattr(other, field))
        self.explicit |= other.explicit

    def effective_port(self) -> int:
        """The port msmtp connects to: the set one, else 465 for SMTPS, else 25; 0 for LMTP."""
        if self.port:
            return self.port
        if self.protocol is Protocol.LMTP:
            return 0
        return 465 if self.tls and not self.tls_starttls else 25


SETTING_FIELDS = tuple(
    f.name for f in dataclasses.fields(Account)
    if f.name not in ("name", "conffile", "explicit", "password_from_file")
)
