"""The resolved settings of one msmtp account, field for field as msmtp keeps them.

This class is the contract between the configuration parser, the command
line, ``--pretend`` and the delivery engine.  ``explicit`` records which fields
were set by a command (msmtp's ``mask``): only those are inherited through
``account NAME : PARENT`` and only those count as overrides on the command line.
"""

from __future__ import annotations

from smtpq.sender.record import Record


class Protocol:
    """``protocol`` (constants, not an ``enum``: see smtpq.sender.sysexits)."""

    SMTP = "smtp"
    LMTP = "lmtp"


class HeaderPolicy:
    """``set_from_header`` / ``set_date_header`` / ``set_msgid_header`` values.

    Constants, not an ``enum``: see smtpq.sender.sysexits."""

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


class Account(Record):
    """One account as msmtp resolves it; ``None`` means "not set".

    A plain class rather than a dataclass (see ``smtpq.sender.record``): every
    field is an instance attribute, set in ``__init__`` in ``FIELDS`` order.
    """

    FIELDS = (
        "name", "conffile", "explicit",
        "host", "port", "source_ip", "proxy_host", "proxy_port", "socket", "timeout", "protocol",
        "domain",
        "auth", "user", "password", "passwordeval", "ntlmdomain",
        "tls", "tls_starttls", "tls_trust_file", "tls_crl_file", "tls_fingerprint",
        "tls_key_file", "tls_cert_file", "tls_certcheck", "tls_min_dh_prime_bits",
        "tls_priorities", "tls_host_override",
        "from_", "auto_from", "maildomain", "allow_from_override", "dsn_notify", "dsn_return",
        "set_from_header", "set_date_header", "set_msgid_header", "remove_bcc_headers",
        "undisclosed_recipients", "logfile", "logfile_time_format", "syslog", "aliases",
        "password_from_file",
    )
    REPR_HIDDEN = frozenset({"password"})
    #: Not a setting: keep the password the AUTH step obtained (``passwordeval``,
    #: key ring, netrc, prompt) for the next connection of this account.  The
    #: queue's flush sets it (one prompt per account and flush); msmtp, one mail
    #: per process, has nothing to remember.
    remember_password = False

    def __init__(
        self,
        name: str = "",
        conffile: str | None = None,
        explicit: set[str] | None = None,
        host: str | None = None,
        port: int = 0,
        source_ip: str | None = None,
        proxy_host: str | None = None,
        proxy_port: int = 0,
        socket: str | None = None,
        timeout: int = 0,
        protocol: str = Protocol.SMTP,
        domain: str = "localhost",
        auth: str | None = None,
        user: str | None = None,
        password: str | None = None,
        passwordeval: str | None = None,
        ntlmdomain: str | None = None,
        tls: bool = False,
        tls_starttls: bool = True,
        tls_trust_file: str | None = "system",
        tls_crl_file: str | None = None,
        tls_fingerprint: bytes | None = None,
        tls_key_file: str | None = None,
        tls_cert_file: str | None = None,
        tls_certcheck: bool = True,
        tls_min_dh_prime_bits: int | None = None,
        tls_priorities: str | None = None,
        tls_host_override: str | None = None,
        from_: str | None = None,
        auto_from: bool = False,
        maildomain: str | None = None,
        allow_from_override: bool = True,
        dsn_notify: str | None = None,
        dsn_return: str | None = None,
        set_from_header: str = HeaderPolicy.AUTO,
        set_date_header: str = HeaderPolicy.AUTO,
        set_msgid_header: str = HeaderPolicy.AUTO,
        remove_bcc_headers: bool = True,
        undisclosed_recipients: bool = False,
        logfile: str | None = None,
        logfile_time_format: str | None = None,
        syslog: str | None = None,
        aliases: str | None = None,
        password_from_file: str | None = None,
    ) -> None:
        self.name = name
        self.conffile = conffile  # file that defined it; None for --host / env accounts
        self.explicit = set() if explicit is None else explicit

        # General
        self.host = host
        self.port = port  # 0: not set; the default (25/465/none for LMTP) is applied later
        self.source_ip = source_ip
        self.proxy_host = proxy_host
        self.proxy_port = proxy_port
        self.socket = socket
        self.timeout = timeout  # seconds; 0 means off
        self.protocol = protocol
        self.domain = domain

        # Authentication: auth is None (off), AUTH_CHOOSE (on) or a method name
        self.auth = auth
        self.user = user
        self.password = password  # never in a repr (REPR_HIDDEN)
        self.passwordeval = passwordeval
        self.ntlmdomain = ntlmdomain

        # TLS
        self.tls = tls
        self.tls_starttls = tls_starttls
        self.tls_trust_file = tls_trust_file
        self.tls_crl_file = tls_crl_file
        # raw digest: 32 (SHA256), 20 (SHA1) or 16 (MD5) bytes
        self.tls_fingerprint = tls_fingerprint
        self.tls_key_file = tls_key_file
        self.tls_cert_file = tls_cert_file
        self.tls_certcheck = tls_certcheck
        self.tls_min_dh_prime_bits = tls_min_dh_prime_bits
        self.tls_priorities = tls_priorities
        self.tls_host_override = tls_host_override

        # Sendmail mode
        self.from_ = from_
        self.auto_from = auto_from
        self.maildomain = maildomain
        self.allow_from_override = allow_from_override
        self.dsn_notify = dsn_notify  # upper case, e.g. "FAILURE,DELAY"; "NEVER"
        self.dsn_return = dsn_return  # "HDRS" or "FULL"
        self.set_from_header = set_from_header
        self.set_date_header = set_date_header
        self.set_msgid_header = set_msgid_header
        self.remove_bcc_headers = remove_bcc_headers
        self.undisclosed_recipients = undisclosed_recipients
        self.logfile = logfile
        self.logfile_time_format = logfile_time_format
        self.syslog = syslog  # facility name such as "LOG_USER"; None is off
        self.aliases = aliases

        # Where a password set by the literal ``password`` command came from, for
        # the permission check (msmtp checks only the user file, only literal lines).
        self.password_from_file = password_from_file

    def copy(self) -> Account:
        """A deep-enough copy (``explicit`` is the only mutable field)."""
        twin = Account.__new__(Account)
        twin.__dict__.update(self.__dict__)
        twin.explicit = set(self.explicit)
        return twin

    def override_from(self, other: Account) -> None:
        """Copy over every field *other* set explicitly (msmtp's ``override_account``)."""
        for field in other.explicit:
            setattr(self, field, getattr(other, field))
        self.explicit |= other.explicit

    def effective_port(self) -> int:
        """The port msmtp connects to: the set one, else 465 for SMTPS, else 25; 0 for LMTP."""
        if self.port:
            return self.port
        if self.protocol == Protocol.LMTP:
            return 0
        return 465 if self.tls and not self.tls_starttls else 25


SETTING_FIELDS = tuple(
    name for name in Account.FIELDS
    if name not in ("name", "conffile", "explicit", "password_from_file")
)
