"""The command line against the real msmtp 1.8.23: same acceptance, same message.

Each argument list runs as ``msmtp --pretend ARGS`` (a small rc file in a
temporary HOME, a mail with a From header on stdin, so nothing but the
command line can give exit 64) and through ``parse_args(["--pretend", *ARGS],
extensions=False)``.  msmtp exits 64 exactly when we raise ``UsageError``,
with the same text; for accepted lists, some pretend lines are checked too.

smtpq's additions are compared separately: msmtp must reject them, with the
message ``extensions=False`` predicts.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from smtpq.sender.errors import GetoptError, UsageError
from smtpq.sender.options import CommandLine, parse_args
from tests.support.programs import msmtp_binary

MAIL = b"From: reader@example.org\nSubject: t\n\nbody\n"
RC = "defaults\naccount default\nhost 127.0.0.1\nfrom a@example.org\n"
#: msmtp's exit-64 messages that come after the command line was accepted.
POST_PARSE_USAGE = ("too many arguments", "no recipients found", "no envelope from address found")

Check = Callable[[CommandLine], bool]

#: (argv, pretend lines msmtp must print, check of our CommandLine); lines and
#: check only for accepted lists.
CORPUS: list[tuple[tuple[str, ...], tuple[str, ...], Check | None]] = [
    # accepted
    (("x@example.net",), ("reading recipients from the command line",), None),
    (("x@example.net", "-t"), ("reading recipients from the command line and the mail",),
     lambda c: c.read_recipients),
    (("-ti", "-oi", "-oem", "-odb", "-B8BITMIME", "-bm", "-G", "-m", "-n", "x@y"), (), None),
    (("-A", "c", "-h", "5", "-L", "tag", "-O", "a=b", "-FJohn Doe", "x@y"), (),
     lambda c: c.full_name == "John Doe"),
    (("--host=127.0.0.1", "-f", "<>", "x@y"), ("from = ",), lambda c: c.envelope_from == ""),
    (("--host=h", "-fme@x", "x@y"), ("from = me@x",), lambda c: c.envelope_from == "me@x"),
    (("--host=h", "--port=0x19"), ("port = 25",), lambda c: c.overrides.port == 25),
    (("--host=h", "--port=010"), ("port = 8",), lambda c: c.overrides.port == 8),
    (("--host=h", "--time=5"), ("timeout = 5 seconds",), lambda c: c.overrides.timeout == 5),
    (("--host=h", "--connect-timeout=1"), ("timeout = 1 second",), None),
    (("--host=h", "--auth=", "--user=u"), ("auth = choose", "user = u"), None),
    (("--host=h", "--auth=cram-md5"), ("auth = CRAM-MD5",),
     lambda c: c.overrides.auth == "CRAM-MD5"),
    (("--host=h", "--tls", "--tls-starttls=off"), ("tls = on", "tls_starttls = off"), None),
    (("--host=h", "--tls-fingerprint=00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff"),
     ("tls_fingerprint = 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF",), None),
    (("--host=h", "-N", "failure,delay", "-R", "hdrs"),
     ("dsn_notify = FAILURE,DELAY", "dsn_return = HDRS"), None),
    (("--host=h", "--syslog"), ("syslog = LOG_USER",), lambda c: c.overrides.syslog == "LOG_USER"),
    (("--host=h", "-X", "~/log", "--aliases="), ("logfile = {HOME}/log", "aliases = (not set)"),
     None),
    (("--host=h", "--keepbcc"), ("remove_bcc_headers = off",), None),
    (("--host=h", "--add-missing-d=off"), ("set_date_header = off",), None),
    (("--host=h", "--password=true"), ("passwordeval = true",), None),
    (("--host=", "x@y"), ("host = ",), lambda c: c.host == ""),
    (("-d", "0.1", "--host=h"), (), lambda c: c.debug and not c.print_version),
    (("--debug=0.1",), ("msmtp version 1.8.23",), lambda c: c.print_version),
    (("--ver",), ("msmtp version 1.8.23",), None),
    (("-S", "--version", "--rmqs=x"), (), None),
    (("-a", "default", "-t", "--", "-t"), ("using account default from {HOME}/.msmtprc",), None),
    (("--read-envelope-from",), ("envelope from address extracted from mail: reader@example.org",),
     lambda c: c.read_envelope_from),
    (("-S", "-P"), (), lambda c: c.serverinfo),
    # rejected
    (("--foo",), (), None),
    (("--foo=bar",), (), None),
    (("--s",), (), None),
    (("--se=x",), (), None),
    (("--re",), (), None),
    (("--=x",), (), None),
    (("--set-to-header",), (), None),
    (("--version=1",), (), None),
    (("--vers=",), (), None),
    (("--from",), (), None),
    (("--tls-trust-file",), (), None),
    (("-r", "x@y"), (), None),
    (("-q",), (), None),
    (("-I",), (), None),
    (("-v0.1",), (), None),
    (("-ti", "-f"), (), None),
    (("-bs",), (), None),
    (("-bp",), (), None),
    (("-ba",), (), None),
    (("-b", "d"), (), None),
    (("--host=h", "-a", "x"), (), None),
    (("-a", "x", "--host=h"), (), None),
    (("-f", "a@b", "--read-envelope-from"), (), None),
    (("--read-envelope-from", "-f", "a@b"), (), None),
    (("-S", "--rmqs=x"), (), None),
    (("--version", "-S", "--rmqs=x"), (), None),
    (("--tls-fingerprint=zz",), (), None),
    (("--tls-fingerprint=00-11-22-33-44-55-66-77-88-99-aa-bb-cc-dd-ee-ff",), (), None),
    (("--port=25 ",), (), None),
    (("--port=70000",), (), None),
    (("--timeout=",), (), None),
    (("--tls=",), (), None),
    (("--auth=PLAIN",), (), None),
    (("--syslog=log_mail",), (), None),
    (("-N", "FAILURE"), (), None),
    (("-R", "FULL"), (), None),
    (("--set-date-header=on",), (), None),
    (("--protocol=esmtp",), (), None),
    (("x@y", "--tls=maybe", "--foo"), (), None),
    (("--send-now", "x@y"), (), None),
]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("home")
    rc = path / ".msmtprc"
    rc.write_text(RC)
    rc.chmod(0o600)
    return path


def _env(home: Path, extra: Mapping[str, str] = {}) -> dict[str, str]:
    return {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C", "USER": "tester", **extra}


def _msmtp(argv: Sequence[str], env: Mapping[str, str],
           argv0: str = "msmtp") -> subprocess.CompletedProcess[bytes]:
    args = [os.fsencode(a) for a in [argv0, "--pretend", *argv]]
    return subprocess.run(args, executable=msmtp_binary(), input=MAIL, capture_output=True,
                          env=dict(env), timeout=30, check=False)


def _ours(argv: Sequence[str], env: Mapping[str, str]) -> CommandLine | UsageError:
    try:
        return parse_args(["--pretend", *argv], environ=env, extensions=False)
    except UsageError as e:
        return e


def _assert_same(argv: Sequence[str], env: Mapping[str, str]) -> CommandLine | None:
    real, ours = _msmtp(argv, env), _ours(argv, env)
    first_line = real.stderr.split(b"\n")[0]
    if isinstance(ours, UsageError):
        expected = b"msmtp: " + ours.message.encode("utf-8", "surrogateescape") + b"\n"
        if real.returncode == -signal.SIGABRT and _double_free_bug(ours.message):
            assert real.stderr.startswith(expected)
            return None
        assert real.returncode == 64, (argv, real.stderr)
        assert real.stderr == expected
        return None
    if real.returncode == 64:
        assert first_line.decode()[len("msmtp: "):] in POST_PARSE_USAGE, (argv, real.stderr)
    return ours


#: msmtp 1.8.23 frees the old value of these settings before checking the new
#: one and aborts ("free(): double free") after reporting an invalid value
#: that follows a valid one; smtpq just reports it and exits 64.
DOUBLE_FREE_OPTIONS = ("--syslog", "--dsn-notify", "--dsn-return")


def _double_free_bug(message: str) -> bool:
    return message.startswith("invalid argument ") and message.endswith(DOUBLE_FREE_OPTIONS)


@pytest.mark.msmtp
@pytest.mark.parametrize("argv", [("--syslog", "--syslog=bad"), ("-N", "failure", "-N", "bad"),
                                  ("-R", "full", "--dsn-return=bad")])
def test_msmtp_double_free_after_a_second_invalid_value(home: Path,
                                                        argv: tuple[str, ...]) -> None:
    real = _msmtp(argv, _env(home))
    with pytest.raises(UsageError) as info:
        parse_args(argv)
    assert _double_free_bug(info.value.message)
    assert real.stderr.startswith(b"msmtp: " + info.value.message.encode() + b"\n")
    assert real.returncode in (64, -signal.SIGABRT)


@pytest.mark.msmtp
@pytest.mark.parametrize(("argv", "lines", "check"), CORPUS, ids=[" ".join(c[0]) for c in CORPUS])
def test_same_acceptance_and_message_as_msmtp(
    home: Path, argv: tuple[str, ...], lines: tuple[str, ...], check: Check | None
) -> None:
    env = _env(home)
    ours = _assert_same(argv, env)
    if ours is None:
        return
    stdout = _msmtp(argv, env).stdout.decode().splitlines()
    for line in lines:
        assert line.replace("{HOME}", str(home)) in stdout
    assert check is None or check(ours)


@pytest.mark.msmtp
def test_corpus_is_large_and_mixed() -> None:
    assert len(CORPUS) >= 30
    assert sum(1 for _, lines, check in CORPUS if lines or check) >= 15


@pytest.mark.msmtp
@pytest.mark.parametrize("argv", [("-é",), ("-té", "x"), ("--tlsé",), ("--from=é", "ü@x")])
def test_non_ascii_arguments_byte_for_byte(home: Path, argv: tuple[str, ...]) -> None:
    _assert_same(argv, _env(home))


@pytest.mark.msmtp
@pytest.mark.parametrize(("argv", "getopt"), [(("--foo",), True), (("-r",), True),
                                              (("--tls=x",), False), (("-bs",), False)])
def test_getopt_messages_carry_argv0_verbatim_msmtps_the_basename(
    home: Path, argv: tuple[str, ...], getopt: bool
) -> None:
    real = _msmtp(argv, _env(home), argv0="/usr/sbin/sendmail")
    prefix = b"/usr/sbin/sendmail: " if getopt else b"sendmail: "
    assert real.stderr.startswith(prefix)
    with pytest.raises(UsageError) as info:
        parse_args(argv)
    assert isinstance(info.value, GetoptError) is getopt


@pytest.mark.msmtp
def test_posixly_correct(home: Path) -> None:
    env = _env(home, {"POSIXLY_CORRECT": "1"})
    ours = _assert_same(("x@y", "--foo", "-t"), env)
    assert ours is not None and ours.recipients == ["x@y", "--foo", "-t"]


@pytest.mark.msmtp
@pytest.mark.parametrize(("argv", "message"), [
    (("-q",), b"msmtp: invalid option -- 'q'"),
    (("-q30m",), b"msmtp: invalid option -- 'q'"),
    (("-bp",), b"msmtp: unsupported operation mode bp"),
    (("--send-now", "x@y"), b"msmtp: unrecognized option '--send-now'"),
])
def test_msmtp_rejects_what_smtpq_adds_on_purpose(home: Path, argv: tuple[str, ...],
                                                  message: bytes) -> None:
    real = _msmtp(argv, _env(home))
    assert (real.returncode, real.stderr.split(b"\n")[0]) == (64, message)
    assert not parse_args(argv).msmtp_compatible


# -- random command lines ------------------------------------------------------------------

_WORDS = ["-t", "-i", "-oi", "-f", "-fa@b", "-F", "-a", "-C", "-d", "-d0.1", "-v", "-P", "-S",
          "-N", "-R", "-X", "-b", "-bm", "-bs", "-h", "-x", "--", "-", "", "=", "x@y", "on",
          "off", "auto", "never", "full", "hdrs", "0", "25", "0x19", "~/f", "<>", "default",
          "LOG_MAIL", "failure,delay", "plain", "-ti", "-tS"]
_LONG = ["version", "help", "pretend", "debug", "serverinfo", "rmqs", "file", "account", "host",
         "port", "timeout", "auto-from", "from", "maildomain", "auth", "user", "tls",
         "tls-starttls", "tls-trust-file", "tls-fingerprint", "tls-certcheck",
         "tls-force-sslv3", "tls-min-dh-prime-bits", "dsn-notify", "dsn-return", "protocol",
         "domain", "logfile", "syslog", "aliases", "proxy-port", "add-missing-from-header",
         "set-from-header", "set-date-header", "remove-bcc-headers", "undisclosed-recipients",
         "socket", "keepbcc", "read-recipients", "read-envelope-from", "foo", "t", "s", "re"]
_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                max_size=6)


@st.composite
def _long_option(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(_LONG))
    name = name[:draw(st.integers(1, len(name)))]
    if draw(st.booleans()):
        return f"--{name}"
    return f"--{name}={draw(st.one_of(st.sampled_from(_WORDS), _TEXT))}"


_ARGV = st.lists(st.one_of(st.sampled_from(_WORDS), _long_option(), _TEXT), max_size=6)


def _safe(argv: Sequence[str]) -> bool:
    """Nothing msmtp would execute (passwordeval) or resolve in DNS (--configure)."""
    return not any(a.startswith(("--pa", "--co")) for a in argv)


@pytest.mark.msmtp
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=_ARGV)
def test_random_command_lines_match_msmtp(home: Path, argv: list[str]) -> None:
    assume(_safe(argv))
    _assert_same(argv, _env(home))
