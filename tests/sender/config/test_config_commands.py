"""What each msmtprc command of msmtp 1.8.23 accepts and sets (observed with ``--pretend``)."""

from __future__ import annotations

import pytest

from smtpq.sender.config.settings import AUTH_CHOOSE, HeaderPolicy, Protocol
from smtpq.sender.errors import ConfigError
from tests.sender.config.config_helpers import HOME, account, parse


def setting(command_line: str, field: str):
    return getattr(account(f"account a\n{command_line}\n"), field)


def error(command_line: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse(f"account a\n{command_line}\n")
    assert info.value.exit_code == 78
    return info.value.message


@pytest.mark.parametrize("line, field, value", [
    ("host mail.example", "host", "mail.example"),
    ("port 0x19", "port", 25),
    ("source_ip 10.0.0.1", "source_ip", "10.0.0.1"),
    ("source_ip", "source_ip", None),
    ("proxy_host p", "proxy_host", "p"),
    ("proxy_host", "proxy_host", None),
    ("proxy_port 1080", "proxy_port", 1080),
    ("proxy_port", "proxy_port", 0),
    ("socket ~/s", "socket", "~/s"),
    ("timeout 30", "timeout", 30),
    ("timeout off", "timeout", 0),
    ("connect_timeout 010", "timeout", 8),
    ("protocol lmtp", "protocol", Protocol.LMTP),
    ("domain", "domain", ""),
    ("domain %H", "domain", "%H"),
    ("auth", "auth", AUTH_CHOOSE),
    ("auth on", "auth", AUTH_CHOOSE),
    ("auth off", "auth", None),
    ("auth xoauth2", "auth", "XOAUTH2"),
    ("user", "user", None),
    ("user %U", "user", "%U"),
    ("password", "password", None),
    ("password s3cret", "password", "s3cret"),
    ("passwordeval ~/pw", "passwordeval", "~/pw"),
    ("ntlmdomain", "ntlmdomain", None),
    ("tls", "tls", True),
    ("tls off", "tls", False),
    ("tls_starttls off", "tls_starttls", False),
    ("tls_nostarttls", "tls_starttls", False),
    ("tls_trust_file", "tls_trust_file", None),
    ("tls_trust_file system", "tls_trust_file", "system"),
    ("tls_trust_file ~/ca.pem", "tls_trust_file", HOME + "/ca.pem"),
    ("tls_trust_file ~x", "tls_trust_file", HOME + "x"),
    ("tls_trust_file a~/x", "tls_trust_file", "a~/x"),
    ("tls_crl_file ~/crl", "tls_crl_file", HOME + "/crl"),
    ("tls_key_file ~/k", "tls_key_file", HOME + "/k"),
    ("tls_cert_file ~/c", "tls_cert_file", HOME + "/c"),
    ("tls_fingerprint " + ":".join(["0f"] * 20), "tls_fingerprint", bytes([15]) * 20),
    ("tls_fingerprint", "tls_fingerprint", None),
    ("tls_certcheck off", "tls_certcheck", False),
    ("tls_nocertcheck", "tls_certcheck", False),
    ("tls_min_dh_prime_bits 0x200", "tls_min_dh_prime_bits", 512),
    ("tls_min_dh_prime_bits", "tls_min_dh_prime_bits", None),
    ("tls_priorities NORMAL", "tls_priorities", "NORMAL"),
    ("tls_host_override o", "tls_host_override", "o"),
    ("from", "from_", ""),
    ('from "  x@y  "', "from_", "  x@y  "),
    ("allow_from_override off", "allow_from_override", False),
    ("dsn_notify off", "dsn_notify", None),
    ("dsn_notify delay,failure", "dsn_notify", "DELAY,FAILURE"),
    ("dsn_return headers", "dsn_return", "HDRS"),
    ("dsn_return off", "dsn_return", None),
    ("set_from_header", "set_from_header", HeaderPolicy.AUTO),
    ("set_from_header on", "set_from_header", HeaderPolicy.ON),
    ("add_missing_from_header off", "set_from_header", HeaderPolicy.OFF),
    ("add_missing_from_header", "set_from_header", HeaderPolicy.AUTO),
    ("set_date_header off", "set_date_header", HeaderPolicy.OFF),
    ("add_missing_date_header off", "set_date_header", HeaderPolicy.OFF),
    ("set_msgid_header off", "set_msgid_header", HeaderPolicy.OFF),
    ("remove_bcc_headers off", "remove_bcc_headers", False),
    ("keepbcc", "remove_bcc_headers", False),
    ("keepbcc off", "remove_bcc_headers", True),
    ("undisclosed_recipients", "undisclosed_recipients", True),
    ("logfile -", "logfile", "-"),
    ("logfile ~/log", "logfile", HOME + "/log"),
    ("logfile", "logfile", None),
    ("logfile_time_format %Y", "logfile_time_format", "%Y"),
    ("syslog", "syslog", "LOG_USER"),
    ("syslog off", "syslog", None),
    ("syslog LOG_MAIL", "syslog", "LOG_MAIL"),
    ("aliases ~/aliases", "aliases", HOME + "/aliases"),
    ("auto_from", "auto_from", True),
    ("maildomain", "maildomain", ""),
])
def test_command_sets_field(line: str, field: str, value: object) -> None:
    assert setting(line, field) == value


def test_tilde_uses_home_even_when_empty() -> None:
    assert account("account a\nlogfile ~/log\n", env={"HOME": ""}).logfile == "/log"


def test_commands_mark_what_they_set_as_explicit() -> None:
    acc = account("account a\nhost h\nkeepbcc\ntls_nocertcheck\nconnect_timeout 5\n")
    assert acc.explicit == {"host", "remove_bcc_headers", "tls_certcheck", "timeout"}


def test_tls_force_sslv3_is_accepted_and_ignored() -> None:
    acc = account("account a\ntls_force_sslv3 whatever\n")
    assert acc.explicit == set()


@pytest.mark.parametrize("command", [
    "host", "port", "timeout", "connect_timeout", "protocol", "dsn_notify", "dsn_return",
])
def test_commands_that_need_an_argument(command: str) -> None:
    assert error(command) == f"FILE: line 2: command {command} needs an argument"
    assert error(f'{command} ""') == f"FILE: line 2: command {command} needs an argument"


@pytest.mark.parametrize("command", ["tls_nocertcheck", "tls_nostarttls", "defaults"])
def test_commands_that_take_no_argument(command: str) -> None:
    assert error(f"{command} on") == f"FILE: line 2: command {command} does not take an argument"


@pytest.mark.parametrize("line", [
    "port on", "port 65536", "port 0", "port 08", "proxy_port 0", "proxy_port off",
    "timeout on", "timeout 0", "timeout -5", "protocol LMTP", "auth PLAIN", "auth Plain",
    "tls xyz", "tls_starttls yes", "tls_certcheck 1", "tls_fingerprint on",
    "tls_min_dh_prime_bits 0", "dsn_notify on", "dsn_notify FAILURE", "dsn_return hdrs",
    "dsn_return HEADERS", "set_from_header xyz", "set_date_header on", "set_msgid_header on",
    "remove_bcc_headers 0", "undisclosed_recipients x", "syslog LOG_LOCAL8", "syslog log_mail",
    "auto_from yes", "add_missing_from_header auto", "add_missing_date_header x", "keepbcc x",
    "allow_from_override xyz",
])
def test_invalid_arguments(line: str) -> None:
    command, argument = line.split(" ", 1)
    assert error(line) == f"FILE: line 2: invalid argument {argument} for command {command}"


def test_allow_from_override_rejects_an_empty_argument() -> None:
    # unlike every other on/off command (observed, note the two spaces)
    assert error("allow_from_override") == \
        "FILE: line 2: invalid argument  for command allow_from_override"


@pytest.mark.parametrize("command", ["from_full_name", "set_to_header", "include", "HOST", "eval"])
def test_unknown_commands(command: str) -> None:
    text = f"account a\n{command} x\n"
    evals = {"x": f"{command} x"}
    with pytest.raises(ConfigError, match=f"^FILE: line 2: unknown command {command}$"):
        parse("account a\neval x\n" if command == "eval" else text, evals=evals)


def test_control_characters_in_messages_become_question_marks() -> None:
    assert error("port 2\x015") == "FILE: line 2: invalid argument 2?5 for command port"
    with pytest.raises(ConfigError, match=r"^FILE: line 2: unknown command \?$"):
        parse("account a\n\x0b\n")
