"""``parse_args``: msmtp 1.8.23's ``msmtp_cmdline`` for smtpq, messages verbatim.

Each option is handled in argv order and the first error stops everything,
as in msmtp, so with several mistakes the same one is reported.  The usage
errors are msmtp's (and glibc's) texts without the ``msmtp: `` prefix.

smtpq's additions (``--send-now``, ``-q[ARG]``, ``-bp``) are recorded in
``CommandLine.smtpq_extensions``: msmtp rejects them, smtpq does not.
"""

from __future__ import annotations

import os

from smtpq.sender.config.paths import expand_tilde
from smtpq.sender.errors import UsageError
from smtpq.sender.options import arguments as conv
from smtpq.sender.options.commandline import CommandLine, Mode
from smtpq.sender.options.getopt import getopt_long
from smtpq.sender.options.table import (
    LONG_OPTIONS,
    MSMTP_LONG_OPTIONS,
    MSMTP_SHORT_TABLE,
    SHORT_OPTIONS,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

#: key → (Account field, conversion, option name in msmtp's error message).
_SETTINGS: dict[str, tuple[str, Callable[..., object], str]] = {
    "port": ("port", conv.port, "--port"),
    "timeout": ("timeout", conv.timeout, "--timeout"),
    "auto-from": ("auto_from", conv.on_off, "--auto-from"),
    "maildomain": ("maildomain", conv.text_or_unset, "--maildomain"),
    "auth": ("auth", conv.auth, "--auth"),
    "user": ("user", conv.text_or_unset, "--user"),
    "passwordeval": ("passwordeval", conv.text_or_unset, "--passwordeval"),
    "tls": ("tls", conv.on_off, "--tls"),
    "tls-starttls": ("tls_starttls", conv.on_off, "--tls-starttls"),
    "tls-fingerprint": ("tls_fingerprint", conv.fingerprint, "--tls-fingerprint"),
    "tls-certcheck": ("tls_certcheck", conv.on_off, "--tls-certcheck"),
    "tls-min-dh-prime-bits": ("tls_min_dh_prime_bits", conv.optional_positive,
                              "--tls-min-dh-prime-bits"),
    "tls-priorities": ("tls_priorities", conv.text_or_unset, "--tls-priorities"),
    "tls-host-override": ("tls_host_override", conv.text_or_unset, "--tls-host-override"),
    "N": ("dsn_notify", conv.dsn_notify, "--dsn-notify"),
    "R": ("dsn_return", conv.dsn_return, "--dsn-return"),
    "protocol": ("protocol", conv.protocol, "--protocol"),
    "domain": ("domain", str, "--domain"),
    "logfile-time-format": ("logfile_time_format", conv.text_or_unset,
                            "--logfile-time-format"),
    "syslog": ("syslog", conv.syslog, "--syslog"),
    "proxy-host": ("proxy_host", conv.text_or_unset, "--proxy-host"),
    "proxy-port": ("proxy_port", conv.proxy_port, "--proxy-port"),
    "add-missing-from-header": ("set_from_header", conv.add_missing,
                                "--add-missing-from-header"),
    "add-missing-date-header": ("set_date_header", conv.add_missing,
                                "--add-missing-date-header"),
    "set-from-header": ("set_from_header", conv.from_header, "--set-from-header"),
    "set-date-header": ("set_date_header", conv.auto_or_off, "--set-date-header"),
    "set-msgid-header": ("set_msgid_header", conv.auto_or_off, "--set-msgid-header"),
    "remove-bcc-headers": ("remove_bcc_headers", conv.on_off, "--remove-bcc-headers"),
    "undisclosed-recipients": ("undisclosed_recipients", conv.on_off,
                               "--undisclosed-recipients"),
    "source-ip": ("source_ip", conv.text_or_unset, "--source-ip"),
    "socket": ("socket", conv.text_or_unset, "--socket"),
    "keepbcc": ("remove_bcc_headers", conv.keepbcc, "--keepbcc"),
}

#: File-name settings: empty unsets, else ``~`` is expanded.
_FILES: dict[str, str] = {
    "tls-trust-file": "tls_trust_file",
    "tls-crl-file": "tls_crl_file",
    "tls-key-file": "tls_key_file",
    "tls-cert-file": "tls_cert_file",
    "X": "logfile",
    "aliases": "aliases",
}

#: Sendmail options msmtp accepts and ignores (and the obsolete --tls-force-sslv3).
_IGNORED = frozenset("ABGhiLmnOo") | {"tls-force-sslv3"}


def parse_args(
    argv: Sequence[str],
    *,
    environ: Mapping[str, str] | None = None,
    extensions: bool = True,
) -> CommandLine:
    """Parse *argv* (without the program name) as msmtp 1.8.23 does.

    *environ* (default ``os.environ``) supplies ``POSIXLY_CORRECT`` and the
    ``HOME`` for ``~`` expansion.  With ``extensions=False`` smtpq's own
    options are unknown, exactly as in msmtp (``-q`` is an invalid option,
    ``-bp`` an unsupported mode, and ``--se`` lists no ``--send-now``).
    Raises ``UsageError`` with msmtp's text.
    """
    env = os.environ if environ is None else environ
    parser = _Parser(env, extensions)
    short, long = (SHORT_OPTIONS, LONG_OPTIONS) if extensions else (
        MSMTP_SHORT_TABLE, MSMTP_LONG_OPTIONS)
    options = getopt_long(argv, short, long, parser.cmd.recipients,
                          posixly_correct="POSIXLY_CORRECT" in env)
    for key, optarg in options:
        parser.handle(key, optarg)
    return parser.finish()


class _Parser:
    """The state of ``msmtp_cmdline`` while it walks argv."""

    def __init__(self, environ: Mapping[str, str], extensions: bool) -> None:
        self.environ = environ
        self.extensions_enabled = extensions
        self.cmd = CommandLine()
        self.queue_flush = False
        self.queue_list = False
        self.used_extensions: list[str] = []

    def handle(self, key: str, optarg: str | None) -> None:
        if key in _SETTINGS:
            field, convert, name = _SETTINGS[key]
            self._set(field, _convert(convert, optarg, name))
        elif key in _FILES:
            assert optarg is not None
            # msmtp tests the argument, not the expansion: "~" with HOME="" gives "".
            self._set(_FILES[key], expand_tilde(optarg, self.environ) if optarg else None)
        elif key not in _IGNORED:
            getattr(self, "opt_" + key.replace("-", "_"))(optarg)

    def _set(self, field: str, value: object) -> None:
        setattr(self.cmd.overrides, field, value)
        self.cmd.overrides.explicit.add(field)

    # -- modes ---------------------------------------------------------------

    def opt_version(self, _: str | None) -> None:
        self.cmd.print_version = True
        self._leave_sendmail_mode()

    def opt_help(self, _: str | None) -> None:
        self.cmd.print_help = True
        self._leave_sendmail_mode()

    def opt_configure(self, address: str | None) -> None:
        self.cmd.configure = address
        self._leave_sendmail_mode()

    def _leave_sendmail_mode(self) -> None:
        # --version, --help and --configure reset -S (but not --rmqs), as msmtp does.
        self.cmd.sendmail = False
        self.cmd.serverinfo = False

    def opt_P(self, _: str | None) -> None:
        self.cmd.pretend = True

    def opt_d(self, level: str | None) -> None:
        self.cmd.debug = True
        # sendmail documents only -d0.1: print the version.
        if level == "0.1":
            self.cmd.print_version = True

    opt_v = opt_d

    def opt_S(self, _: str | None) -> None:
        if self.cmd.rmqs is not None:
            raise UsageError("cannot use both --serverinfo and --rmqs")
        self._check_no_queue_mode("--serverinfo")
        self.cmd.serverinfo = True
        self.cmd.sendmail = False

    def opt_rmqs(self, argument: str | None) -> None:
        if self.cmd.serverinfo:
            raise UsageError("cannot use both --serverinfo and --rmqs")
        self._check_no_queue_mode("--rmqs")
        self.cmd.rmqs = argument
        self.cmd.sendmail = False

    def opt_b(self, mode: str | None) -> None:
        if mode == "p" and self.extensions_enabled:  # smtpq: list the queue (msmtp: unsupported)
            self._enter_queue_mode("-bp")
            self.queue_list, self.queue_flush = True, False
        elif mode != "m":
            raise UsageError(f"unsupported operation mode b{mode}")

    def opt_q(self, argument: str | None) -> None:
        self._enter_queue_mode("-q")
        self.queue_flush, self.queue_list = True, False
        self.cmd.queue_argument = argument or ""

    def opt_send_now(self, _: str | None) -> None:
        self.cmd.send_now = True
        self._extension("--send-now")

    def _enter_queue_mode(self, option: str) -> None:
        if self.cmd.serverinfo:
            raise UsageError(f"cannot use both --serverinfo and {option}")
        if self.cmd.rmqs is not None:
            raise UsageError(f"cannot use both --rmqs and {option}")
        self.cmd.sendmail = False
        self._extension(option)

    def _check_no_queue_mode(self, option: str) -> None:
        for used, flag in (("-bp", self.queue_list), ("-q", self.queue_flush)):
            if flag:
                raise UsageError(f"cannot use both {option} and {used}")

    def _extension(self, option: str) -> None:
        if option not in self.used_extensions:
            self.used_extensions.append(option)

    # -- configuration and account choice -----------------------------------

    def opt_C(self, path: str | None) -> None:
        self.cmd.config_file = path

    def opt_a(self, name: str | None) -> None:
        if "host" in self.cmd.overrides.explicit:
            raise UsageError("cannot use both --host and --account")
        self.cmd.account_name = name

    def opt_host(self, host: str | None) -> None:
        if self.cmd.account_name is not None:
            raise UsageError("cannot use both --host and --account")
        self._set("host", host)

    # -- sendmail mode --------------------------------------------------------

    def opt_f(self, address: str | None) -> None:
        if self.cmd.read_envelope_from:
            raise UsageError("cannot use both --from and --read-envelope-from")
        # "<>" means the null sender (Debian bug 612679).
        self.cmd.envelope_from = "" if address == "<>" else address
        self._set("from_", self.cmd.envelope_from)

    def opt_read_envelope_from(self, _: str | None) -> None:
        if "from_" in self.cmd.overrides.explicit:
            raise UsageError("cannot use both --from and --read-envelope-from")
        self.cmd.read_envelope_from = True

    def opt_t(self, _: str | None) -> None:
        self.cmd.read_recipients = True

    def opt_F(self, name: str | None) -> None:
        self.cmd.full_name = name

    # -- result ----------------------------------------------------------------

    def finish(self) -> CommandLine:
        self.cmd.mode = self._mode()
        self.cmd.smtpq_extensions = tuple(self.used_extensions)
        return self.cmd

    def _mode(self) -> str:
        """msmtp's precedence: configure, help, version, then -P over -S/--rmqs."""
        cmd = self.cmd
        if cmd.configure is not None:
            return Mode.CONFIGURE
        if cmd.print_help:
            return Mode.HELP
        if cmd.print_version:
            return Mode.VERSION
        if self.queue_list or self.queue_flush:
            return Mode.QUEUE_LIST if self.queue_list else Mode.QUEUE_FLUSH
        if cmd.pretend:
            return Mode.PRETEND
        if cmd.serverinfo:
            return Mode.SERVERINFO
        if cmd.rmqs is not None:
            return Mode.RMQS
        return Mode.SEND_NOW if cmd.send_now else Mode.SENDMAIL


def _convert(convert: Callable[..., object], optarg: str | None, name: str) -> object:
    try:
        return convert(optarg)
    except ValueError:
        raise UsageError(f"invalid argument {optarg} for {name}") from None
