"""The msmtp/sendmail command line, rule by rule (msmtp 1.8.23 on glibc 2.36).

Every expected message below was observed with the real msmtp binary.
"""

from __future__ import annotations

import pytest

from smtpq.sender.config.settings import AUTH_CHOOSE, HeaderPolicy, Protocol
from smtpq.sender.errors import UsageError
from smtpq.sender.options import CommandLine, Mode, parse_args
from smtpq.sender.sysexits import ExitCode

ENV = {"HOME": "/home/joe"}


def parse(*argv: str, env: dict[str, str] | None = None) -> CommandLine:
    return parse_args(argv, environ=ENV if env is None else env)


def usage_error(*argv: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(UsageError) as info:
        parse(*argv, env=env)
    assert info.value.exit_code == ExitCode.EX_USAGE
    return info.value.message


# -- getopt_long scanning -------------------------------------------------------


def test_no_arguments_is_sendmail_mode_without_recipients() -> None:
    cmd = parse()
    assert cmd.mode == Mode.SENDMAIL and cmd.recipients == [] and cmd.sendmail


def test_options_after_recipients_still_count() -> None:
    cmd = parse("a@x", "-t", "b@y", "-f", "me@z")
    assert cmd.recipients == ["a@x", "b@y"]
    assert cmd.read_recipients and cmd.envelope_from == "me@z"


def test_posixly_correct_stops_at_the_first_recipient() -> None:
    cmd = parse("a@x", "-t", "--", "b", env={"POSIXLY_CORRECT": ""})
    assert not cmd.read_recipients
    assert cmd.recipients == ["a@x", "-t", "--", "b"]


def test_double_dash_ends_options() -> None:
    cmd = parse("-t", "--", "-f", "--tls", "--")
    assert cmd.recipients == ["-f", "--tls", "--"] and cmd.envelope_from is None


def test_single_dash_and_empty_string_are_recipients() -> None:
    assert parse("-", "").recipients == ["-", ""]


def test_clustered_short_options() -> None:
    cmd = parse("-tiP")
    assert cmd.read_recipients and cmd.pretend


def test_attached_and_separate_required_arguments() -> None:
    assert parse("-fa@b").envelope_from == "a@b"
    assert parse("-f", "a@b").envelope_from == "a@b"
    assert parse("-tfa@b").envelope_from == "a@b"


def test_required_argument_is_taken_verbatim_even_if_it_looks_like_an_option() -> None:
    cmd = parse("-f", "--", "x@y")
    assert cmd.envelope_from == "--" and cmd.recipients == ["x@y"]


def test_optional_short_argument_only_attached() -> None:
    cmd = parse("-dt")  # "t" is -d's argument, not -t
    assert cmd.debug and not cmd.read_recipients
    cmd = parse("-d", "0.1")
    assert cmd.debug and not cmd.print_version and cmd.recipients == ["0.1"]


def test_long_required_argument_with_equals_or_separate() -> None:
    assert parse("--from=a@b").envelope_from == "a@b"
    assert parse("--from", "a@b").envelope_from == "a@b"
    assert parse("--from=").envelope_from == ""


def test_long_optional_argument_only_with_equals() -> None:
    cmd = parse("--tls", "off")
    assert cmd.overrides.tls is True and cmd.recipients == ["off"]
    assert parse("--tls=off").overrides.tls is False


def test_unambiguous_prefixes_of_long_options() -> None:
    assert parse("--ver").mode == Mode.VERSION
    assert parse("--connect=5").overrides.timeout == 5
    assert parse("--time=5").overrides.timeout == 5
    assert parse("--fi=rc").config_file == "rc"
    assert parse("--add-missing-d=off").overrides.set_date_header == HeaderPolicy.OFF


def test_exact_name_wins_over_longer_names() -> None:
    assert parse("--tls").overrides.explicit == {"tls"}


@pytest.mark.parametrize(("argv", "message"), [
    (("--foo",), "unrecognized option '--foo'"),
    (("--foo=bar",), "unrecognized option '--foo=bar'"),
    (("--set-to-header",), "unrecognized option '--set-to-header'"),  # not in 1.8.23
    (("-r",), "invalid option -- 'r'"),
    (("-ti", "-x"), "invalid option -- 'x'"),
    (("-:",), "invalid option -- ':'"),
    (("-W", "foo"), "invalid option -- 'W'"),
    (("-f",), "option requires an argument -- 'f'"),
    (("-b",), "option requires an argument -- 'b'"),
    (("--from",), "option '--from' requires an argument"),
    (("--fr",), "option '--from' requires an argument"),
    (("--version=1",), "option '--version' doesn't allow an argument"),
    (("--vers=1",), "option '--version' doesn't allow an argument"),
    (("--help=",), "option '--help' doesn't allow an argument"),
])
def test_getopt_messages(argv: tuple[str, ...], message: str) -> None:
    assert usage_error(*argv) == message


def test_non_ascii_invalid_option_is_reported_as_its_first_byte() -> None:
    assert usage_error("-é") == "invalid option -- '\udcc3'"


def test_ambiguous_prefix_lists_candidates_in_table_order() -> None:
    assert usage_error("--re") == ("option '--re' is ambiguous; possibilities: "
                                   "'--remove-bcc-headers' '--read-recipients' "
                                   "'--read-envelope-from'")
    assert usage_error("--tls-c=x") == ("option '--tls-c=x' is ambiguous; possibilities: "
                                        "'--tls-crl-file' '--tls-cert-file' '--tls-certcheck'")


def test_ambiguity_list_names_smtpq_options_too() -> None:
    assert usage_error("--se").endswith("'--set-msgid-header' '--send-now'")


def test_without_extensions_the_ambiguity_list_is_msmtps() -> None:
    with pytest.raises(UsageError) as info:
        parse_args(["--se"], extensions=False)
    assert info.value.message == ("option '--se' is ambiguous; possibilities: '--serverinfo' "
                                  "'--set-from-header' '--set-date-header' '--set-msgid-header'")


def test_first_error_wins() -> None:
    assert usage_error("--tls=x", "--foo") == "invalid argument x for --tls"
    assert usage_error("--foo", "--tls=x") == "unrecognized option '--foo'"


# -- msmtp's usage errors ---------------------------------------------------------


@pytest.mark.parametrize("mode", ["s", "a", "d", "mx", "p "])
def test_unsupported_operation_modes(mode: str) -> None:
    assert usage_error("-b" + mode) == f"unsupported operation mode b{mode}"
    assert usage_error("-b", mode) == f"unsupported operation mode b{mode}"


def test_empty_operation_mode() -> None:
    assert usage_error("-b", "") == "unsupported operation mode b"


def test_there_is_no_password_option_but_its_prefix_means_passwordeval() -> None:
    # msmtp 1.8.23 too: --password=x is an abbreviation of --passwordeval=x.
    assert parse("--password=x").overrides.passwordeval == "x"


def test_bm_is_accepted() -> None:
    assert parse("-bm").mode == Mode.SENDMAIL
    assert parse("-b", "m").mode == Mode.SENDMAIL


@pytest.mark.parametrize("argv", [("--host=h", "-a", "x"), ("-a", "x", "--host=h"),
                                  ("--host=", "-a", "x"), ("-a", "", "--host=h")])
def test_host_and_account_conflict(argv: tuple[str, ...]) -> None:
    assert usage_error(*argv) == "cannot use both --host and --account"


@pytest.mark.parametrize("argv", [("-f", "a", "--read-envelope-from"),
                                  ("--read-envelope-from", "-f", "a"),
                                  ("-f", "", "--read-envelope-from")])
def test_from_and_read_envelope_from_conflict(argv: tuple[str, ...]) -> None:
    assert usage_error(*argv) == "cannot use both --from and --read-envelope-from"


@pytest.mark.parametrize("argv", [("-S", "--rmqs=x"), ("--rmqs=x", "-S")])
def test_serverinfo_and_rmqs_conflict(argv: tuple[str, ...]) -> None:
    assert usage_error(*argv) == "cannot use both --serverinfo and --rmqs"


def test_version_help_and_configure_reset_serverinfo_but_not_rmqs() -> None:
    assert parse("-S", "--version", "--rmqs=x").mode == Mode.VERSION
    assert usage_error("--version", "-S", "--rmqs=x") == "cannot use both --serverinfo and --rmqs"
    assert usage_error("--rmqs=x", "--help", "-S") == "cannot use both --serverinfo and --rmqs"


@pytest.mark.parametrize(("argv", "message"), [
    (("--port=",), "invalid argument  for --port"),
    (("--port=0",), "invalid argument 0 for --port"),
    (("--port=70000",), "invalid argument 70000 for --port"),
    (("--port=25 ",), "invalid argument 25  for --port"),
    (("--proxy-port=0",), "invalid argument 0 for --proxy-port"),
    (("--timeout=",), "invalid argument  for --timeout"),
    (("--timeout=-1",), "invalid argument -1 for --timeout"),
    (("--timeout=OFF",), "invalid argument OFF for --timeout"),
    (("--connect-timeout=x",), "invalid argument x for --timeout"),
    (("--tls=",), "invalid argument  for --tls"),
    (("--tls=ON",), "invalid argument ON for --tls"),
    (("--tls-starttls=1",), "invalid argument 1 for --tls-starttls"),
    (("--tls-certcheck=no",), "invalid argument no for --tls-certcheck"),
    (("--auto-from=yes",), "invalid argument yes for --auto-from"),
    (("--auth=PLAIN",), "invalid argument PLAIN for --auth"),
    (("--auth=choose",), "invalid argument choose for --auth"),
    (("--auth=scram-sha-256-plus",), "invalid argument scram-sha-256-plus for --auth"),
    (("--tls-fingerprint=zz",), "invalid argument zz for --tls-fingerprint"),
    (("--tls-min-dh-prime-bits=0",), "invalid argument 0 for --tls-min-dh-prime-bits"),
    (("-N", ""), "invalid argument  for --dsn-notify"),
    (("-N", "FAILURE"), "invalid argument FAILURE for --dsn-notify"),
    (("--dsn-notify=success,success",), "invalid argument success,success for --dsn-notify"),
    (("-R", "FULL"), "invalid argument FULL for --dsn-return"),
    (("--protocol=SMTP",), "invalid argument SMTP for --protocol"),
    (("--syslog=",), "invalid argument  for --syslog"),
    (("--syslog=LOG_LOCAL8",), "invalid argument LOG_LOCAL8 for --syslog"),
    (("--set-from-header=yes",), "invalid argument yes for --set-from-header"),
    (("--set-date-header=on",), "invalid argument on for --set-date-header"),
    (("--set-msgid-header=on",), "invalid argument on for --set-msgid-header"),
    (("--add-missing-from-header=auto",), "invalid argument auto for --add-missing-from-header"),
    (("--add-missing-date-header=x",), "invalid argument x for --add-missing-date-header"),
    (("--remove-bcc-headers=x",), "invalid argument x for --remove-bcc-headers"),
    (("--undisclosed-recipients=x",), "invalid argument x for --undisclosed-recipients"),
    (("--keepbcc=x",), "invalid argument x for --keepbcc"),
])
def test_invalid_option_arguments(argv: tuple[str, ...], message: str) -> None:
    assert usage_error(*argv) == message


# -- what valid options set ---------------------------------------------------------


def test_port_is_read_like_strtol_base_0() -> None:
    assert parse("--port=0x19").overrides.port == 25
    assert parse("--port=010").overrides.port == 8
    assert parse("--port= +25").overrides.port == 25


@pytest.mark.parametrize(("argv", "field", "value"), [
    (("--timeout=off",), "timeout", 0),
    (("--proxy-port=",), "proxy_port", 0),
    (("--auth",), "auth", AUTH_CHOOSE),
    (("--auth=",), "auth", AUTH_CHOOSE),
    (("--auth=on",), "auth", AUTH_CHOOSE),
    (("--auth=off",), "auth", None),
    (("--auth=scram-sha-1",), "auth", "SCRAM-SHA-1"),
    (("--user=",), "user", None),
    (("--domain=",), "domain", ""),
    (("--tls-starttls=off",), "tls_starttls", False),
    (("--tls-certcheck=off",), "tls_certcheck", False),
    (("--tls-trust-file=",), "tls_trust_file", None),
    (("--tls-fingerprint=",), "tls_fingerprint", None),
    (("--tls-fingerprint=00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff",),
     "tls_fingerprint", bytes.fromhex("00112233445566778899aabbccddeeff")),
    (("--tls-min-dh-prime-bits=",), "tls_min_dh_prime_bits", None),
    (("--tls-min-dh-prime-bits=1024",), "tls_min_dh_prime_bits", 1024),
    (("-N", "failure,delay"), "dsn_notify", "FAILURE,DELAY"),
    (("-N", "never"), "dsn_notify", "NEVER"),
    (("-N", "off"), "dsn_notify", None),
    (("-R", "hdrs"), "dsn_return", "HDRS"),
    (("-R", "headers"), "dsn_return", "HDRS"),
    (("--dsn-return=full",), "dsn_return", "FULL"),
    (("--protocol=lmtp",), "protocol", Protocol.LMTP),
    (("--syslog",), "syslog", "LOG_USER"),
    (("--syslog=on",), "syslog", "LOG_USER"),
    (("--syslog=off",), "syslog", None),
    (("--syslog=LOG_MAIL",), "syslog", "LOG_MAIL"),
    (("--set-from-header",), "set_from_header", HeaderPolicy.AUTO),
    (("--set-from-header=on",), "set_from_header", HeaderPolicy.ON),
    (("--add-missing-from-header",), "set_from_header", HeaderPolicy.AUTO),
    (("--add-missing-from-header=off",), "set_from_header", HeaderPolicy.OFF),
    (("--set-msgid-header=off",), "set_msgid_header", HeaderPolicy.OFF),
    (("--keepbcc",), "remove_bcc_headers", False),
    (("--keepbcc=off",), "remove_bcc_headers", True),
    (("--remove-bcc-headers=off",), "remove_bcc_headers", False),
    (("--undisclosed-recipients",), "undisclosed_recipients", True),
    (("--maildomain=",), "maildomain", None),
    (("--auto-from",), "auto_from", True),
    (("--source-ip=::1",), "source_ip", "::1"),
    (("--socket=/run/s",), "socket", "/run/s"),
    (("--logfile-time-format=%s",), "logfile_time_format", "%s"),
])
def test_settings_become_explicit_overrides(argv: tuple[str, ...], field: str,
                                            value: object) -> None:
    overrides = parse(*argv).overrides
    assert getattr(overrides, field) == value
    assert field in overrides.explicit


def test_only_given_settings_are_explicit() -> None:
    assert parse("-t", "-i", "x@y").overrides.explicit == set()
    assert parse("--tls", "--port=587").overrides.explicit == {"tls", "port"}


def test_file_names_get_msmtps_naive_tilde_expansion() -> None:
    cmd = parse("-X", "~/log", "--aliases=~root/a", "--tls-trust-file=~",
                "--tls-crl-file=x~", "--tls-key-file=~/k", "--tls-cert-file=~/c")
    o = cmd.overrides
    assert (o.logfile, o.aliases, o.tls_trust_file) == ("/home/joe/log", "/home/joeroot/a",
                                                         "/home/joe")
    assert (o.tls_crl_file, o.tls_key_file, o.tls_cert_file) == ("x~", "/home/joe/k",
                                                                 "/home/joe/c")


def test_tilde_uses_an_empty_home_verbatim() -> None:
    assert parse("-X", "~/log", env={"HOME": ""}).overrides.logfile == "/log"
    assert parse("-X", "~", env={"HOME": ""}).overrides.logfile == ""


def test_tilde_without_home_uses_the_password_database() -> None:
    import os
    import pwd

    home = pwd.getpwuid(os.getuid()).pw_dir
    assert parse("-X", "~/log", env={}).overrides.logfile == home + "/log"


def test_empty_file_name_unsets() -> None:
    cmd = parse("-X", "~/log", "--logfile=")
    assert cmd.overrides.logfile is None and "logfile" in cmd.overrides.explicit


def test_config_file_and_account_are_verbatim() -> None:
    cmd = parse("-C", "~/rc", "-a", "work")
    assert cmd.config_file == "~/rc" and cmd.account_name == "work"


def test_host_means_command_line_settings_only() -> None:
    cmd = parse("--host=smtp.example", "-f", "me@x")
    assert cmd.host == "smtp.example"
    assert cmd.overrides.host == "smtp.example" and cmd.overrides.from_ == "me@x"
    assert parse("--host=").host == ""
    assert parse("-f", "me@x").host is None


def test_null_sender() -> None:
    cmd = parse("-f", "<>")
    assert cmd.envelope_from == "" and cmd.overrides.from_ == ""
    assert "from_" in cmd.overrides.explicit
    assert parse("-f", "<a@b>").envelope_from == "<a@b>"


def test_read_envelope_from_sets_the_from_only_once_the_mail_is_read() -> None:
    cmd = parse("--read-envelope-from")
    assert cmd.read_envelope_from and "from_" not in cmd.overrides.explicit
    cmd.set_envelope_from("r@e.org")
    assert cmd.envelope_from == "r@e.org" and cmd.overrides.from_ == "r@e.org"
    assert "from_" in cmd.overrides.explicit


def test_full_name() -> None:
    assert parse("-F", "John Doe").full_name == "John Doe"
    assert parse("-FJohn").full_name == "John"


def test_ignored_sendmail_options() -> None:
    cmd = parse("-i", "-oi", "-oem", "-odb", "-B8BITMIME", "-A", "c", "-G", "-h", "5",
                "-L", "tag", "-m", "-n", "-O", "a=b", "x@y")
    assert cmd.recipients == ["x@y"] and cmd.overrides.explicit == set()
    assert cmd.mode == Mode.SENDMAIL


def test_tls_force_sslv3_is_ignored_whatever_its_argument() -> None:
    assert parse("--tls-force-sslv3=garbage").overrides.explicit == set()


# -- modes ------------------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "mode"), [
    (("--version",), Mode.VERSION),
    (("--help",), Mode.HELP),
    (("--help", "--version"), Mode.HELP),
    (("--configure=a@b", "--help"), Mode.CONFIGURE),
    (("-P",), Mode.PRETEND),
    (("--pretend", "-S"), Mode.PRETEND),
    (("-S",), Mode.SERVERINFO),
    (("--rmqs=@example.org",), Mode.RMQS),
    (("-d0.1",), Mode.VERSION),
    (("--debug=0.1",), Mode.VERSION),
    (("-d",), Mode.SENDMAIL),
])
def test_mode_precedence(argv: tuple[str, ...], mode: Mode) -> None:
    assert parse(*argv).mode is mode


def test_both_version_and_help_are_printed() -> None:
    cmd = parse("--help", "--version")
    assert cmd.print_version and cmd.print_help


def test_v_is_debug_not_ignored() -> None:
    cmd = parse("-v")
    assert cmd.debug and cmd.mode == Mode.SENDMAIL
    assert usage_error("-v0.1") == "invalid option -- '0'"


def test_pretend_keeps_the_underlying_mode_flags() -> None:
    cmd = parse("-P", "--rmqs=#q")
    assert cmd.mode == Mode.PRETEND and cmd.rmqs == "#q" and not cmd.sendmail
    assert parse("-P").sendmail


def test_too_many_arguments_is_checked_on_parsed_recipients() -> None:
    cmd = parse("-S", "")
    cmd.check_no_operands([])  # msmtp -S '' is fine: '' holds no address
    with pytest.raises(UsageError, match="^too many arguments$"):
        cmd.check_no_operands(["x@y"])


# -- smtpq's additions -----------------------------------------------------------------------


def test_send_now() -> None:
    cmd = parse("--send-now", "x@y")
    assert cmd.mode == Mode.SEND_NOW and cmd.smtpq_extensions == ("--send-now",)
    assert not cmd.msmtp_compatible
    assert parse("--send", "-P").mode == Mode.PRETEND


@pytest.mark.parametrize(("argv", "argument"), [(("-q",), ""), (("-q30m",), "30m"),
                                                (("-qf",), "f"), (("-tq",), "")])
def test_q_flushes_the_queue(argv: tuple[str, ...], argument: str) -> None:
    cmd = parse(*argv)
    assert cmd.mode == Mode.QUEUE_FLUSH and cmd.queue_argument == argument
    assert cmd.smtpq_extensions == ("-q",) and not cmd.sendmail


def test_bp_lists_the_queue() -> None:
    assert parse("-bp").mode == Mode.QUEUE_LIST
    assert parse("-b", "p").smtpq_extensions == ("-bp",)


def test_last_queue_mode_wins() -> None:
    assert parse("-q", "-bp").mode == Mode.QUEUE_LIST
    assert parse("-bp", "-q").mode == Mode.QUEUE_FLUSH


def test_queue_modes_conflict_with_serverinfo_and_rmqs() -> None:
    assert usage_error("-S", "-q") == "cannot use both --serverinfo and -q"
    assert usage_error("-bp", "--rmqs=x") == "cannot use both --rmqs and -bp"


def test_version_beats_queue_modes() -> None:
    assert parse("-q", "--version").mode == Mode.VERSION


@pytest.mark.parametrize(("argv", "message"), [
    (("-q",), "invalid option -- 'q'"),
    (("-bp",), "unsupported operation mode bp"),
    (("--send-now",), "unrecognized option '--send-now'"),
])
def test_msmtp_rejects_the_additions(argv: tuple[str, ...], message: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_args(argv, environ=ENV, extensions=False)
    assert info.value.message == message
