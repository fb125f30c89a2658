"""Every account command msmtp 1.8.23 accepts, and what its argument means.

One table maps a command to the ``Account`` field it sets and a converter from
the argument.  Verified against the binary, command by command (see
``tests/sender/config/test_config_commands.py``):

* an empty argument means ``on`` for on/off commands — except
  ``allow_from_override``, which rejects it (``invalid argument  for …``);
* ``host``, ``port``, ``timeout``/``connect_timeout``, ``protocol``,
  ``dsn_notify`` and ``dsn_return`` need an argument; most text settings are
  unset by an empty one, but ``domain``, ``from`` and ``maildomain`` keep ``""``;
* file names (``logfile``, ``aliases``, ``tls_*_file``) get ``~`` expansion,
  other arguments (``socket``, ``passwordeval``) do not;
* legacy spellings: ``connect_timeout``, ``add_missing_from_header`` and
  ``add_missing_date_header`` (on → auto), ``keepbcc`` (inverse of
  ``remove_bcc_headers``), ``tls_nocertcheck`` and ``tls_nostarttls`` (no
  argument allowed), and ``tls_force_sslv3`` (any argument, ignored);
* ``from_full_name``, ``set_to_header`` and ``include`` do not exist in 1.8.23.

``defaults``, ``account`` and ``eval`` are structure, handled by the parser.
"""

from __future__ import annotations

from smtpq.sender.config import values
from smtpq.sender.config.paths import expand_tilde
from smtpq.sender.config.settings import HeaderPolicy, Protocol
from smtpq.sender.errors import NeedsArgument, TakesNoArgument

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from smtpq.sender.config.settings import Account

    #: Converts an argument (and the environment, for ``~``) to a field value.
    Converter = Callable[[str, Mapping[str, str]], object]


class Command:
    """The ``Account`` field a command sets and how its argument becomes the value."""

    __slots__ = ("convert", "field")

    def __init__(self, field: str | None, convert: Converter) -> None:
        self.field = field  # None: accepted and ignored (tls_force_sslv3)
        self.convert = convert


def _required(convert: Callable[[str], object]) -> Converter:
    def run(arg: str, _env: Mapping[str, str]) -> object:
        if arg == "":
            raise NeedsArgument()
        return convert(arg)
    return run


def _simple(convert: Callable[[str], object]) -> Converter:
    return lambda arg, _env: convert(arg)


def _text_or_unset(arg: str) -> str | None:
    return arg or None


def _file_or_unset(arg: str, env: Mapping[str, str]) -> str | None:
    return expand_tilde(arg, env) if arg else None


def _no_argument(value: object) -> Converter:
    def run(arg: str, _env: Mapping[str, str]) -> object:
        if arg != "":
            raise TakesNoArgument()
        return value
    return run


def _strict_on_off(arg: str) -> bool:
    """``allow_from_override``: only the words on and off (empty is invalid, verified)."""
    if arg not in ("on", "off"):
        raise ValueError(arg)
    return arg == "on"


def _timeout(arg: str) -> int:
    return 0 if arg == "off" else values.positive_int(arg)


def _protocol(arg: str) -> str:
    if arg in (Protocol.SMTP, Protocol.LMTP):
        return Protocol.LMTP if arg == Protocol.LMTP else Protocol.SMTP
    raise ValueError(arg)


def _auth(arg: str) -> str | None:
    return None if arg == "off" else values.auth_method(arg)


def _dsn_notify(arg: str) -> str | None:
    return None if arg == "off" else values.dsn_notify(arg)


def _dsn_return(arg: str) -> str | None:
    return None if arg == "off" else values.dsn_return(arg, hdrs_alias=False)


def _syslog(arg: str) -> str | None:
    if arg in ("", "on"):
        return "LOG_USER"
    return None if arg == "off" else values.syslog_facility(arg)


def _from_header(arg: str) -> str:
    if arg in ("", "auto"):
        return HeaderPolicy.AUTO
    if arg in ("on", "off"):
        return HeaderPolicy.ON if arg == "on" else HeaderPolicy.OFF
    raise ValueError(arg)


def _auto_or_off(arg: str) -> str:
    if arg in ("", "auto"):
        return HeaderPolicy.AUTO
    if arg == "off":
        return HeaderPolicy.OFF
    raise ValueError(arg)


def _add_missing(arg: str) -> str:
    return HeaderPolicy.AUTO if values.on_off(arg) else HeaderPolicy.OFF


def _fingerprint(arg: str) -> bytes | None:
    return values.fingerprint(arg) if arg else None


def _dh_bits(arg: str) -> int | None:
    return values.positive_int(arg) if arg else None


def _proxy_port(arg: str) -> int:
    return values.port(arg) if arg else 0


def _keep(arg: str) -> str:
    return arg


COMMANDS: dict[str, Command] = {
    # General
    "host": Command("host", _required(_keep)),
    "port": Command("port", _required(values.port)),
    "source_ip": Command("source_ip", _simple(_text_or_unset)),
    "proxy_host": Command("proxy_host", _simple(_text_or_unset)),
    "proxy_port": Command("proxy_port", _simple(_proxy_port)),
    "socket": Command("socket", _simple(_text_or_unset)),
    "timeout": Command("timeout", _required(_timeout)),
    "connect_timeout": Command("timeout", _required(_timeout)),
    "protocol": Command("protocol", _required(_protocol)),
    "domain": Command("domain", _simple(_keep)),
    # Authentication
    "auth": Command("auth", _simple(_auth)),
    "user": Command("user", _simple(_text_or_unset)),
    "password": Command("password", _simple(_text_or_unset)),
    "passwordeval": Command("passwordeval", _simple(_text_or_unset)),
    "ntlmdomain": Command("ntlmdomain", _simple(_text_or_unset)),
    # TLS
    "tls": Command("tls", _simple(values.on_off)),
    "tls_starttls": Command("tls_starttls", _simple(values.on_off)),
    "tls_nostarttls": Command("tls_starttls", _no_argument(False)),
    "tls_trust_file": Command("tls_trust_file", _file_or_unset),
    "tls_crl_file": Command("tls_crl_file", _file_or_unset),
    "tls_fingerprint": Command("tls_fingerprint", _simple(_fingerprint)),
    "tls_key_file": Command("tls_key_file", _file_or_unset),
    "tls_cert_file": Command("tls_cert_file", _file_or_unset),
    "tls_certcheck": Command("tls_certcheck", _simple(values.on_off)),
    "tls_nocertcheck": Command("tls_certcheck", _no_argument(False)),
    "tls_min_dh_prime_bits": Command("tls_min_dh_prime_bits", _simple(_dh_bits)),
    "tls_priorities": Command("tls_priorities", _simple(_text_or_unset)),
    "tls_host_override": Command("tls_host_override", _simple(_text_or_unset)),
    "tls_force_sslv3": Command(None, _simple(_keep)),
    # Sendmail mode
    "from": Command("from_", _simple(_keep)),
    "allow_from_override": Command("allow_from_override", _simple(_strict_on_off)),
    "dsn_notify": Command("dsn_notify", _required(_dsn_notify)),
    "dsn_return": Command("dsn_return", _required(_dsn_return)),
    "set_from_header": Command("set_from_header", _simple(_from_header)),
    "add_missing_from_header": Command("set_from_header", _simple(_add_missing)),
    "set_date_header": Command("set_date_header", _simple(_auto_or_off)),
    "add_missing_date_header": Command("set_date_header", _simple(_add_missing)),
    "set_msgid_header": Command("set_msgid_header", _simple(_auto_or_off)),
    "remove_bcc_headers": Command("remove_bcc_headers", _simple(values.on_off)),
    "keepbcc": Command("remove_bcc_headers", _simple(lambda arg: not values.on_off(arg))),
    "undisclosed_recipients": Command("undisclosed_recipients", _simple(values.on_off)),
    "logfile": Command("logfile", _file_or_unset),
    "logfile_time_format": Command("logfile_time_format", _simple(_text_or_unset)),
    "syslog": Command("syslog", _simple(_syslog)),
    "aliases": Command("aliases", _file_or_unset),
    "auto_from": Command("auto_from", _simple(values.on_off)),
    "maildomain": Command("maildomain", _simple(_keep)),
}


def apply(account: Account, name: str, argument: str, env: Mapping[str, str]) -> None:
    """Run command *name* on *account*: set the field and mark it explicit.

    Raises KeyError for an unknown command, NeedsArgument, TakesNoArgument, or
    ValueError for an invalid argument; the parser turns them into messages.
    """
    command = COMMANDS[name]
    value = command.convert(argument, env)
    if command.field is None:
        return
    setattr(account, command.field, value)
    account.explicit.add(command.field)
