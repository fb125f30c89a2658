"""Configuration files and command lines on which smtpq must behave exactly as msmtp.

Each case names a user configuration file (written to ``~/.msmtprc`` unless the
arguments pass ``-C``), the arguments, and optionally stdin and environment.
Both programs run with ``--pretend`` (added unless the case says otherwise), in
the same temporary HOME; see ``test_differential_pretend.py``.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    rc: str | None
    args: tuple[str, ...] = ()
    stdin: bytes = b""
    env: tuple[tuple[str, str], ...] = ()
    pretend: bool = True
    rc_mode: int = 0o600


BASE = """\
defaults
port 2525
tls off
logfile ~/msmtp.log

account sink
host 127.0.0.1
from alice@example.org
auth off

account authy : sink
from bob@example.org
auth plain
user bob
password s3cret

account default : sink
"""

WILD = """\
account plain
host plain.example
from joe@example.org

account wild
host wild.example
from *@wild.example

account bracket
host bracket.example
from [ab]*@bracket.example

account default
host default.example
from default@example.org
"""

FULL = """\
account full
host smtp.example.org
tls on
tls_starttls off
timeout 30
proxy_host 127.0.0.1
source_ip 127.0.0.1
domain %H
auth on
user joe
passwordeval echo secret
tls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33
tls_min_dh_prime_bits 1024
tls_priorities NORMAL:-VERS-TLS1.0
from %U@%H.example
set_from_header on
set_date_header off
remove_bcc_headers off
undisclosed_recipients on
dsn_notify failure,delay
dsn_return headers
logfile_time_format %Y-%m-%d %H:%M:%S
syslog LOG_MAIL
"""


def _bad(name: str, rc: str, *args: str) -> Case:
    return Case(name, rc, tuple(args))


CASES: list[Case] = [
    # Account choice
    Case("default-account", BASE),
    Case("named-account", BASE, ("-a", "authy")),
    Case("missing-account", BASE, ("-a", "nope")),
    Case("from-selects-account", BASE, ("-f", "bob@example.org")),
    Case("from-selects-case-insensitive", BASE, ("-f", "BOB@Example.ORG")),
    Case("from-subaddress", BASE, ("-f", "bob+tag@example.org")),
    Case("from-no-match-falls-back", BASE, ("-f", "nobody@example.net")),
    Case("from-overrides-account-from", BASE, ("-a", "sink", "-f", "x@example.net")),
    Case("from-null-sender", BASE, ("-f", "<>")),
    Case("wildcard-account", WILD, ("-f", "anyone@wild.example")),
    Case("wildcard-bracket", WILD, ("-f", "bert@bracket.example")),
    Case("wildcard-subaddress-skips-glob", WILD, ("-f", "y+tag@wild.example")),
    Case("read-envelope-from", BASE, ("--read-envelope-from",),
         stdin=b"From: Bob <bob@example.org>\nTo: x@example.net\n\nhi\n"),
    Case("read-envelope-from-finds-no-address", BASE, ("--read-envelope-from",),
         stdin=b"From: (nobody)\nSubject: x\n\nhi\n"),
    Case("host-only-command-line", None, ("--host=mail.example", "--port=2526", "-f", "a@b.example")),
    Case("host-with-account", BASE, ("--host=h", "-a", "sink")),
    Case("from-and-read-envelope-from", BASE, ("-f", "a@b", "--read-envelope-from")),
    Case("env-email-smtpserver", "account other\nhost other.example\n",
         env=(("EMAIL", "env@example.org"), ("SMTPSERVER", "env.example"))),
    Case("no-default-account", "account other\nhost other.example\n"),
    # Implicit default account
    Case("implicit-default", "host implicit.example\nfrom a@example.org\n"),
    Case("implicit-default-then-account-default",
         "host implicit.example\naccount other\nhost o\naccount default : other\n"),
    Case("account-defined-twice", "account a\nhost h\naccount a\nhost h2\n"),
    Case("inherit-unknown", "account a : b\nhost h\n"),
    Case("inherit-later-parent-wins",
         "account a\nhost ha\nport 1000\nfrom a@x\naccount b\nhost hb\nfrom b@x\n"
         "account c : a, b\naccount default : c\n"),
    Case("inherit-only-explicit", "defaults\nport 2000\naccount a\nhost ha\naccount b\nhost hb\nport 3000\n"
         "defaults\nport 4000\naccount c : b, a\naccount default : c\n"),
    Case("second-defaults-block", "defaults\ntls on\naccount a\nhost ha\ndefaults\ntls off\n"
         "account b\nhost hb\naccount default : a\n", ("-a", "b")),
    # Syntax
    Case("missing-account-name", "account\nhost h\n"),
    Case("account-name-colon", "account a:b\nhost h\n"),
    Case("account-name-comma", "account a,b\nhost h\n"),
    Case("unknown-command", "host h\nfrobnicate yes\n"),
    Case("include-is-unknown", "include other\n"),
    Case("needs-argument", "account a\nhost\n", ("-a", "a")),
    Case("does-not-take-argument", "defaults now\n"),
    Case("nocertcheck-no-argument", "account a\nhost h\ntls_nocertcheck\n", ("-a", "a")),
    Case("invalid-port", "account a\nhost h\nport http\n"),
    Case("invalid-port-zero", "account a\nhost h\nport 0\n"),
    Case("port-hex", "account a\nhost h\nport 0x1F90\naccount default : a\n"),
    Case("invalid-on-off", "account a\nhost h\ntls maybe\n"),
    Case("empty-on-off-is-on", "account a\nhost h\ntls\naccount default : a\n"),
    Case("invalid-auth", "account a\nhost h\nauth kerberos\n"),
    Case("invalid-timeout", "account a\nhost h\ntimeout -3\n"),
    Case("timeout-off", "account a\nhost h\ntimeout off\naccount default : a\n"),
    Case("invalid-protocol", "account a\nhost h\nprotocol ftp\n"),
    Case("lmtp-without-port", "account a\nhost h\nprotocol lmtp\nfrom a@b\naccount default : a\n",
         ("a@b",), pretend=False),
    Case("invalid-dsn-notify", "account a\nhost h\ndsn_notify sometimes\n"),
    Case("dsn-notify-list", "account a\nhost h\ndsn_notify success,failure\naccount default : a\n"),
    Case("invalid-dsn-return", "account a\nhost h\ndsn_return body\n"),
    Case("invalid-syslog", "account a\nhost h\nsyslog LOG_DAEMON\n"),
    Case("syslog-on", "account a\nhost h\nsyslog\naccount default : a\n"),
    Case("invalid-fingerprint", "account a\nhost h\ntls_fingerprint 00:11\n"),
    Case("sha256-fingerprint", "account a\nhost h\ntls_fingerprint "
         + ":".join(["ab"] * 32) + "\naccount default : a\n"),
    Case("invalid-set-from-header", "account a\nhost h\nset_from_header sometimes\n"),
    Case("set-date-header-on-invalid", "account a\nhost h\nset_date_header on\n"),
    Case("quoted-argument", 'account a\nhost h\nfrom "  x@y  "\naccount default : a\n'),
    Case("trailing-comment-is-value", "account a\nhost h # comment\naccount default : a\n"),
    Case("crlf-file", "account a\r\nhost h\r\nfrom a@b\r\naccount default : a\r\n"),
    Case("tabs-and-blanks", "\taccount\ta\n  host \t h  \n  # comment\n\naccount default : a\n"),
    Case("line-too-long", "account a\nhost " + "h" * 600 + "\n"),
    Case("line-at-limit", "account a\nhost " + "h" * 494 + "\naccount default : a\n"),
    Case("legacy-aliases", "account a\nhost h\nconnect_timeout 5\nkeepbcc on\ntls_nostarttls\n"
         "add_missing_from_header off\nadd_missing_date_header off\ntls_force_sslv3 on\n"
         "account default : a\n"),
    Case("tls-starttls-off-port-465", "account a\nhost h\ntls on\ntls_starttls off\naccount default : a\n"),
    Case("full-account", FULL, ("-a", "full"), env=(("HOSTNAME", "box"), ("USER", "joe"))),
    Case("auto-from", "account a\nhost h\nauto_from on\nmaildomain example.com\n"
         "from ignored@example.org\naccount default : a\n", ("-f", "also@ignored.example"),
         env=(("USER", "joe"),)),
    Case("allow-from-override-off", "account a\nhost h\nfrom fixed@example.org\n"
         "allow_from_override off\naccount default : a\n", ("-f", "other@example.org")),
    Case("eval-line", "account a\neval echo host evaluated.example\naccount default : a\n"),
    Case("eval-no-output", "account a\neval true\naccount default : a\n"),
    Case("passwordeval-runs-under-pretend", "account a\nhost h\nauth on\nuser u\n"
         "passwordeval echo hunter2\naccount default : a\n"),
    Case("passwordeval-fails", "account a\nhost h\nauth on\nuser u\npasswordeval true\n"
         "account default : a\n"),
    Case("tilde-expansion", "account a\nhost h\nlogfile ~/log\naliases ~/aliases\n"
         "tls_trust_file ~/ca.pem\naccount default : a\n"),
    Case("host-not-set", "account a\nfrom a@b\naccount default : a\n", ("x@y",), pretend=False),
    # Sendmail mode (smtpq enqueues): the same checks, in msmtp's order, before anything is stored
    Case("no-recipients", BASE, (), stdin=b"Subject: x\n\nbody\n", pretend=False),
    Case("no-recipients-before-config-error", "account a\nfrobnicate\n", (),
         stdin=b"Subject: x\n\nbody\n", pretend=False),
    Case("only-empty-group-with-t", BASE, ("-t",), stdin=b"To: undisclosed-recipients:;\n\nx\n",
         pretend=False),
    Case("config-error-with-recipient", "account a\nfrobnicate\n", ("x@example.net",),
         stdin=b"Subject: x\n\nbody\n", pretend=False),
    Case("read-envelope-from-without-from-header", BASE, ("--read-envelope-from", "x@example.net"),
         stdin=b"Subject: x\n\nbody\n", pretend=False),
    # Command-line overrides
    Case("cli-overrides", BASE, ("--port=2600", "--timeout=12", "--domain=client.example",
                                 "--auth=login", "--user=carol", "--tls", "--tls-starttls=off",
                                 "--tls-certcheck=off", "--tls-trust-file=", "--dsn-notify=failure,delay",
                                 "--dsn-return=hdrs", "--syslog=LOG_LOCAL3", "-X", "-",
                                 "--keepbcc", "--set-from-header=on", "--undisclosed-recipients")),
    Case("cli-unset-values", BASE, ("--logfile=", "--source-ip=", "--proxy-host=", "--tls-crl-file=")),
    Case("cli-bad-port", BASE, ("--port=abc",)),
    Case("cli-bad-fingerprint", BASE, ("--tls-fingerprint=xyz",)),
    Case("cli-bad-auth", BASE, ("--auth=magic",)),
    Case("cli-sendmail-ignored-options", BASE, ("-oi", "-oem", "-B8BITMIME", "-FCron Daemon", "-i",
                                                "-h", "5", "-L", "tag", "-O", "a=b", "-G", "-n", "-m",
                                                "-bm", "-A", "x")),
    Case("cli-options-after-recipients", BASE, ("someone@example.net", "-a", "authy")),
    Case("cli-double-dash", BASE, ("--", "-a", "authy")),
    Case("cli-read-recipients", BASE, ("-t",)),
    Case("cli-unknown-option", BASE, ("-r", "x@y")),
    Case("cli-unsupported-mode", BASE, ("-bs",)),
    Case("cli-missing-argument", BASE, ("-a",)),
    Case("cli-config-file-missing", None, ("-C", "/nonexistent/msmtprc")),
]
