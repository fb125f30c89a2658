"""smtpq reads msmtprc files exactly as msmtp 1.8.23: same verdict, messages and values.

Every case runs the real ``msmtp --pretend`` and smtpq's configuration code on
the same files (see ``differential.py``) and compares the exit code, every
stdout line (the notes and each ``key = value``) and every stderr line.
Skipped locally without msmtp; a failure in CI (``CI=true``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.sender.config.differential import (
    Case,
    case,
    copy_of_etc,
    run_msmtp,
    run_smtpq,
)
from tests.support.programs import msmtp_binary, needs

FP20 = ":".join(["0f"] * 20)
FP32 = ":".join(["Ab"] * 32)
ALL_SETTINGS = (
    "host h\nport 9\nsource_ip 1.1.1.1\nsocket /s\nlogfile ~/l\nsyslog\naliases ~/a\n"
    "dsn_notify never\ndsn_return full\ntls_min_dh_prime_bits 9\ntls_priorities P\n"
    "maildomain md\nntlmdomain nd\npasswordeval echo pw\nuser uu\npassword pp\n"
    "auth plain\ndomain dd\ntimeout 1\nproxy_host ph\nproxy_port 99\ntls_starttls off\n"
    "tls\ntls_trust_file /t\ntls_crl_file /c\ntls_key_file /k\ntls_cert_file /ce\n"
    "tls_certcheck off\ntls_host_override z\nset_from_header on\nset_date_header off\n"
    "set_msgid_header off\nremove_bcc_headers off\nundisclosed_recipients on\n"
    "logfile_time_format %Y\nfrom x@y\nallow_from_override off\n"
    f"tls_fingerprint {FP20}\n"
)
WILD = ("account plain\nhost plain.example\nfrom joe@example.org\n"
        "account wild\nhost wild.example\nfrom *@wild.example\n"
        "account plus\nhost plus.example\nfrom a+x@example.org\n"
        "account bracket\nhost bracket.example\nfrom [ab]*@bracket.example\n"
        "account default\nhost default.example\nfrom default@example.org\n")

CASES = [
    # --- lines and lexing
    case("minimal", "host h\n"),
    case("crlf", "account a\r\nhost h\r\nfrom a@b\r\n", "-a", "a"),
    case("blanks-tabs-comments", "\t# c\n  account\ta\n\n  host \t h  \n#x\n", "-a", "a"),
    case("trailing-comment-is-value", "host h # comment\n"),
    case("quotes", 'account a\nhost "h"\nfrom "  x@y  "\nuser "\nmaildomain ""a""\n', "-a", "a"),
    case("cr-kept-without-newline", b"account a\nhost h\nfrom a\r", "-a", "a"),
    case("double-cr", b"account a\nhost h\nfrom a\r\r\n", "-a", "a"),
    case("vertical-tab-is-not-blank", b"account a\nhost h\nfrom a\x0bb\n", "-a", "a"),
    case("vertical-tab-command", b"account a\n\x0b\n", "-a", "a"),
    case("nul-truncates", b"account a\nhost h\nfrom a\x00b\n", "-a", "a"),
    case("nul-splits-long-line", b"account a\nhost h\nfrom a\x00" + b"b" * 600 + b"\n", "-a", "a"),
    case("non-utf8", b"account a\nhost h\nfrom \xff\xfe\xc3\xa9\n", "-a", "a"),
    case("line-499-plus-lf", "host " + "h" * 494 + "\n"),
    case("line-500-plus-lf", "host " + "h" * 495 + "\n"),
    case("line-498-plus-crlf", "host " + "h" * 493 + "\r\n"),
    case("line-499-plus-crlf", "host " + "h" * 494 + "\r\n"),
    case("line-500-no-newline", "host " + "h" * 495),
    case("long-comment", "# " + "c" * 600 + "\nhost h\n"),
    case("long-line-after-error", "bogus\n" + "h" * 600 + "\n"),
    case("empty-file", ""),
    case("only-comments", "# nothing\n\n"),
    # --- commands
    case("all-settings", "account a\n" + ALL_SETTINGS, "-a", "a"),
    case("all-settings-in-defaults", "defaults\n" + ALL_SETTINGS + "account a\n", "-a", "a"),
    case("legacy-spellings", "account a\nhost h\nconnect_timeout 5\nkeepbcc\ntls_nostarttls\n"
         "tls_nocertcheck\nadd_missing_from_header off\nadd_missing_date_header off\n"
         "tls_force_sslv3 on\n", "-a", "a"),
    case("legacy-on", "account a\nhost h\nkeepbcc off\nadd_missing_from_header\n"
         "add_missing_date_header on\n", "-a", "a"),
    case("empty-means-on", "account a\nhost h\ntls\ntls_certcheck\nauto_from\nsyslog\nauth\n"
         "undisclosed_recipients\nremove_bcc_headers\nset_from_header\nset_date_header\n",
         "-a", "a"),
    case("unsetting", "account a\nhost h\nsource_ip x\nsource_ip\nproxy_host p\nproxy_host\n"
         "socket s\nsocket\nuser u\nuser\npassword p\npassword\nntlmdomain n\nntlmdomain\n"
         "tls_trust_file\ntls_crl_file c\ntls_crl_file\ntls_priorities p\ntls_priorities\n"
         "tls_host_override o\ntls_host_override\nlogfile l\nlogfile\nlogfile_time_format f\n"
         f"logfile_time_format\naliases a\naliases\ntls_fingerprint {FP20}\ntls_fingerprint\n"
         "tls_min_dh_prime_bits 5\ntls_min_dh_prime_bits\nproxy_port 5\nproxy_port\n"
         "domain\nfrom\nmaildomain\ndsn_notify never\ndsn_notify off\ndsn_return full\n"
         "dsn_return off\nsyslog\nsyslog off\nauth\nauth off\n", "-a", "a"),
    case("numbers", "account a\nhost h\nport 0x1F90\ntimeout 010\nproxy_port \" 99\"\n"
         "tls_min_dh_prime_bits +512\n", "-a", "a"),
    case("timeout-one-second", "account a\nhost h\ntimeout 1\n", "-a", "a"),
    case("sha256-fingerprint", f"account a\nhost h\ntls_fingerprint {FP32}\n", "-a", "a"),
    case("md5-fingerprint-blanks", "account a\nhost h\ntls_fingerprint \"" + " ".join(["a0"] * 16)
         + "\"\n", "-a", "a"),
    case("dsn-notify-oddity", "account a\nhost h\ndsn_notify failuredelay,\n", "-a", "a"),
    case("auth-methods", "account a\nhost h\nauth scram-sha-256\n", "-a", "a"),
    case("tilde", "account a\nhost h\nlogfile ~/log\naliases ~x\ntls_trust_file ~\n"
         "tls_crl_file ~/c\ntls_key_file ~/k\ntls_cert_file ~/c\nsocket ~/s\n"
         "passwordeval ~/p\n", "-a", "a"),
    case("tilde-empty-home", "account a\nhost h\nlogfile ~/log\n", "-a", "a", env={"HOME": ""}),
    case("tls-port-465", "account a\nhost h\ntls\ntls_starttls off\n", "-a", "a"),
    case("proxy-port-default", "account a\nhost h\nproxy_host p\n", "-a", "a"),
    # --- errors on lines
    *[case(f"invalid-{line.replace(' ', '-')}", f"account a\nhost h\n{line}\n")
      for line in ("port 65536", "port 0", "port 08", "port 25x", "port on", "proxy_port 0",
                   "timeout 0", "timeout on", "timeout 2147483648", "protocol LMTP", "auth PLAIN",
                   "auth kerberos", "tls maybe", "tls_starttls 1", "tls_certcheck x",
                   "tls_fingerprint 00:11", "tls_min_dh_prime_bits 0", "dsn_notify FAILURE",
                   "dsn_notify failure,failure", "dsn_return hdrs", "set_from_header x",
                   "set_date_header on", "set_msgid_header on", "remove_bcc_headers x",
                   "undisclosed_recipients x", "syslog LOG_LOCAL8", "auto_from x", "keepbcc x",
                   "allow_from_override x", "allow_from_override", "add_missing_from_header x")],
    *[case(f"needs-argument-{cmd}", f"account a\n{cmd}\n")
      for cmd in ("host", "port", "timeout", "connect_timeout", "protocol", "dsn_notify",
                  "dsn_return", "eval")],
    *[case(f"no-argument-{cmd}", f"account a\n{cmd} x\n")
      for cmd in ("tls_nocertcheck", "tls_nostarttls", "defaults")],
    *[case(f"unknown-{cmd}", f"account a\n{cmd} x\n")
      for cmd in ("include", "from_full_name", "set_to_header", "HOST", "bogus")],
    case("control-chars-in-message", b"account a\nport 2\x015\n"),
    # --- structure
    case("defaults-reopened", "defaults\nport 1\naccount a\nhost h\ndefaults\nport 2\n"
         "account b\nhost h\n", "-a", "b"),
    case("inherit-two-parents", "account a\nport 1\nhost h\nfrom a@x\naccount b\nport 2\n"
         "from b@x\naccount c : a, b\n", "-a", "c"),
    case("inherit-order-reversed", "account a\nport 1\nhost h\nfrom a@x\naccount b\n"
         "from b@x\naccount c : b , a\n", "-a", "c"),
    case("inherit-not-defaults-values", "defaults\nport 2525\naccount a\nhost h\ndefaults\n"
         "port 3000\naccount b : a\n", "-a", "b"),
    case("inherit-transitive", "account a\nport 1\nhost h\naccount b : a\naccount c : b\n",
         "-a", "c"),
    case("inherit-everything", "account a\n" + ALL_SETTINGS + "account b : a\n", "-a", "b"),
    case("inherit-allow-from-override-bug", "account a\nhost h\nfrom a@x\n"
         "allow_from_override off\naccount b : a\n", "-a", "b", "-f", "z@z"),
    case("inherit-trust-file-unset", "account a\nhost h\ntls_trust_file\naccount b : a\n",
         "-a", "b"),
    case("defaults-trust-file-unset-is-ignored", "defaults\ntls_trust_file\naccount a\n"
         "host h\n", "-a", "a"),
    case("inherit-quoted-parent", 'account b\nhost h\nport 7\naccount "a" : "b"\n', "-a", "a"),
    case("implicit-default", "host h\nfrom x@y\naccount a\nhost ah\n"),
    case("implicit-default-then-account-default", "host h\naccount default\n"),
    case("implicit-default-then-inherit", "host h\naccount x\naccount default : x\n"),
    case("defaults-then-account-default", "defaults\nhost h\naccount default\n"),
    *[case(f"account-line-{i}", f"account b\nhost h\n{line}\n")
      for i, line in enumerate([
          "account", "account :", "account : b", "account a:", "account a : c",
          "account a : a", "account a,b", "account a : ,b", "account a : b,", "account a : b : c",
          "account x,y : nope", "account x,y : b", "account b", 'account "b"', "account b : b",
          'account a : " b "', 'account ""'])],
    case("account-names-with-blanks", 'account "a b"\nhost h\n', "-a", "a b"),
    case("account-name-with-quote", 'account "a\nhost h\n', "-a", '"a'),
    case("account-name-leading-blank", 'account " b"\nhost h\n', "-a", " b"),
    case("account-names-case-sensitive", "account a\nhost h\n", "-a", "A"),
    # --- eval
    case("eval-host", "account a\neval echo host evaluated.example\n", "-a", "a"),
    case("eval-no-output", "account a\neval true\n", "-a", "a"),
    case("eval-quoted-command", 'account a\neval   "true"  \n', "-a", "a"),
    case("eval-empty-line", "account a\nhost h\neval echo\n", "-a", "a"),
    case("eval-comment", "account a\nhost h\neval echo '# c'\n", "-a", "a"),
    case("eval-first-line-only", "account a\nhost h\neval printf 'from a\\nfrom b\\n'\n",
         "-a", "a"),
    case("eval-crlf", "account a\nhost h\neval printf 'from a\\r\\n'\n", "-a", "a"),
    case("eval-cr-no-newline", "account a\nhost h\neval printf 'from a\\r'\n", "-a", "a"),
    case("eval-no-final-newline", "account a\nhost h\neval printf 'from z@z'\n", "-a", "a"),
    case("eval-not-recursive", "account a\neval echo eval echo host x\n", "-a", "a"),
    case("eval-unknown-output", "account a\neval echo foo\n", "-a", "a"),
    case("eval-creates-account", "eval echo account a\nhost x\n"),
    case("eval-before-account-default", "eval echo host z\naccount default\nhost x\n"),
    case("eval-long-output",
         "account a\nhost h\neval python3 -c 'print(\"from \" + \"a\" * 700)'\n", "-a", "a"),
    case("eval-exit-status-ignored", "account a\nhost h\neval echo from e; exit 3\n", "-a", "a"),
    case("eval-sees-environment", "account a\nhost h\neval echo from $SMTPQ_DIFF\n", "-a", "a",
         env={"SMTPQ_DIFF": "env@example.org"}),
    case("eval-password-under-pretend", "account a\nhost h\neval echo password x\n", "-a", "a"),
    # --- passwordeval
    case("passwordeval-runs", "account a\nhost h\nauth on\nuser u\npasswordeval echo pw\n",
         "-a", "a"),
    case("passwordeval-fails", "account a\nhost h\nauth on\npasswordeval true\n", "-a", "a"),
    case("passwordeval-fails-before-host-check", "account a\nauth on\npasswordeval true\n",
         "-a", "a"),
    case("passwordeval-not-without-auth", "account a\nhost h\npasswordeval true\n", "-a", "a"),
    case("passwordeval-not-with-password", "account a\nhost h\nauth on\npassword p\n"
         "passwordeval true\n", "-a", "a"),
    # --- checks after the choice
    case("host-not-set", "account a\nfrom a@b\n", "-a", "a"),
    case("socket-instead-of-host", "account a\nsocket /s\n", "-a", "a"),
    case("lmtp-without-port", "account a\nhost h\nprotocol lmtp\n", "-a", "a"),
    case("lmtp-with-port", "account a\nhost h\nprotocol lmtp\nport 24\n", "-a", "a"),
    case("key-without-cert", "account a\nhost h\ntls_key_file /k\n", "-a", "a"),
    case("cert-without-key", "account a\nhost h\ntls_cert_file /c\n", "-a", "a"),
    case("tls-without-trust", "account a\nhost h\ntls\ntls_trust_file\n", "-a", "a"),
    case("tls-without-trust-but-fingerprint", f"account a\nhost h\ntls\ntls_trust_file\n"
         f"tls_fingerprint {FP20}\n", "-a", "a"),
    case("crl-without-trust", "account a\nhost h\ntls_trust_file\ntls_crl_file /c\n", "-a", "a"),
    case("check-order", "account a\nprotocol lmtp\ntls_key_file /k\n", "-a", "a"),
    case("send-without-from", "account a\nhost h\n", "-a", "a", send=True),
    case("send-without-host", "account a\nfrom a@b\n", "-a", "a", send=True),
    case("send-lmtp-without-port", "account a\nhost h\nfrom a@b\nprotocol lmtp\n", "-a", "a",
         send=True),
    case("send-host-without-from", None, "--host=h", send=True),
    case("send-host-lmtp", None, "--host=h", "--protocol=lmtp", "-f", "a", send=True),
    case("send-syntax-error", "bogus\n", send=True),
    # --- choice
    case("choose-by-name", WILD, "-a", "plain"),
    case("choose-unknown-name", WILD, "-a", "nope"),
    case("choose-default", WILD),
    case("choose-no-default", "account a\nhost h\n"),
    *[case(f"choose-from-{address}", WILD, "-f", address)
      for address in ("joe@example.org", "JOE@EXAMPLE.ORG", "joe+tag@example.org",
                      "x@wild.example", "x@WILD.example", "y+tag@wild.example",
                      "a+x@example.org", "A+X@EXAMPLE.ORG", "a+y@example.org",
                      "b1@bracket.example", "c1@bracket.example", "nobody@nowhere", "<>")],
    case("choose-first-match", "account a\nhost h\nfrom a@b\naccount b\nhost h2\nfrom A@B\n",
         "-f", "a@B"),
    case("choose-ascii-case-only", "account a\nhost h\nfrom \u00c9@x\naccount default\nhost d\n",
         "-f", "\u00e9@x"),
    case("choose-ascii-case-folds", "account a\nhost h\nfrom \u00e9@X\naccount default\nhost d\n",
         "-f", "\u00e9@x"),
    case("choose-glob-utf8-locale", "account a\nhost h\nfrom ?@x\naccount default\nhost d\n",
         "-f", "\u00e9@x"),
    case("choose-glob-c-locale", "account a\nhost h\nfrom ?@x\naccount default\nhost d\n",
         "-f", "\u00e9@x", env={"LC_ALL": "C", "LANG": "C"}),
    case("choose-glob-utf8-bytes-too", "account a\nhost h\nfrom ??@x\naccount default\nhost d\n",
         "-f", "\u00e9@x"),
    case("choose-glob-c-locale-bytes", "account a\nhost h\nfrom ??@x\naccount default\n"
         "host d\n", "-f", "\u00e9@x", env={"LC_ALL": "C"}),
    case("choose-glob-c-locale-bracket", "account a\nhost h\nfrom [\u00e9]@x\n"
         "account default\nhost d\n", "-f", "\u00e9@x", env={"LC_ALL": "C"}),
    *[case(f"choose-glob-{i}", f"account a\nhost h\nfrom {pattern}\naccount default\nhost d\n",
           "-f", address)
      for i, (pattern, address) in enumerate([
          ("[[:digit:]]*@x", "1a@x"), ("[[:digit:]]*@x", "a1@x"), ("[a\\]]@x", "]@x"),
          ("[!]]@x", "a@x"), ("[!]]@x", "]@x"), ("\\?@x", "?@x"), ("\\?@x", "a@x"),
          ("[a-]@x", "-@x"), ("[@x", "[@x"), ("*\\", "a\\"), ("[z-a]@x", "b@x"),
          ("[[:upper:]]@x", "Q@x"), ("[[:upper:]]@x", "q@x"), ("**@x", "@x"),
          ("*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
          ("[[:bogus:]]@x", "b@x"), ("[a@x", "[a@x"), ("[a-@x", "[a-@x"), ("[[=a=]]@x", "a@x"),
          ("[[.a.]-c]@x", "b@x"), ("[[:alpha]@x", "[@x"),
      ])],
    case("choose-raw-from", "account a\nhost h\nfrom %U@x\naccount default\nhost d\n",
         "-f", "tester@x"),
    case("choose-empty-from", "account a\nhost h\nfrom\naccount default\nhost d\n", "-f", "<>"),
    case("choose-name-wins-over-from", WILD, "-a", "plain", "-f", "x@wild.example"),
    case("from-override-off", "account a\nhost h\nfrom fixed@x\nallow_from_override off\n",
         "-a", "a", "-f", "other@x"),
    case("from-wildcard-override-off", "account a\nhost h\nfrom *@wild\n"
         "allow_from_override off\n", "-f", "q@wild"),
    case("env-fallback", "account a\nhost h\n", env={"EMAIL": "e@x", "SMTPSERVER": "smtp.x"}),
    case("env-fallback-needs-email", "account a\nhost h\n", env={"SMTPSERVER": "smtp.x"}),
    case("env-fallback-with-f", "account a\nhost h\n", "-f", "f@x", env={"SMTPSERVER": "s"}),
    case("env-fallback-not-with-a", "account a\nhost h\n", "-a", "default",
         env={"EMAIL": "e@x", "SMTPSERVER": "s"}),
    case("env-fallback-serverinfo", "account a\nhost h\n", "--serverinfo",
         env={"SMTPSERVER": "s"}),
    case("env-fallback-empty-values", "account a\nhost h\n", env={"EMAIL": "", "SMTPSERVER": ""}),
    case("env-fallback-substituted", None, env={"EMAIL": "%U@x", "SMTPSERVER": "s"}),
    case("env-fallback-with-port", "account a\nhost h\n", "--port=1",
         env={"EMAIL": "e@x", "SMTPSERVER": "s"}),
    case("host-only", None, "--host=h", "-f", "%U@x", "--domain=%H"),
    case("host-lmtp-pretend", None, "--host=h", "--protocol=lmtp"),
    case("overrides", "account a\nhost h\ntls\n", "-a", "a", "--port=2600", "--domain=c.example",
         "--tls-trust-file="),
    case("serverinfo-section", "account a\nhost h\nfrom %U\n", "-a", "a", "--serverinfo"),
    # --- substitutions
    case("subst-from-domain", "account a\nhost h\nfrom %U@%H\ndomain %H\nuser %U\nhost %H\n"
         "maildomain %H\n", "-a", "a"),
    case("subst-user-fallbacks", "account a\nhost h\nfrom %U@%H\n", "-a", "a",
         env={"USER": None, "LOGNAME": "lg", "HOSTNAME": ""}),
    case("subst-empty-user", "account a\nhost h\nfrom %U@%H\n", "-a", "a", env={"USER": ""}),
    case("subst-no-escape", "account a\nhost h\nfrom %%U %X %u %\ndomain %H%%H\n", "-a", "a"),
    case("subst-order", "account a\nhost h\nfrom %U@%H\n", "-a", "a",
         env={"USER": "%H", "HOSTNAME": "box"}),
    case("subst-order-2", "account a\nhost h\nfrom %U@%H\n", "-a", "a", env={"HOSTNAME": "%U"}),
    case("subst-order-3", "account a\nhost h\nfrom %U %C\n", "-a", "a",
         env={"USER": "%C", "HOSTNAME": "localhost"}),
    case("subst-canonical", "account a\nhost h\nfrom %C\ndomain %C\n", "-a", "a",
         env={"HOSTNAME": "localhost"}),
    case("subst-canonical-unknown", "account a\nhost h\nfrom %C\n", "-a", "a",
         env={"HOSTNAME": "nonexistent.invalid"}),
    case("subst-f-too", "account a\nhost h\nfrom x\n", "-a", "a", "-f", "%U@q"),
    case("subst-mailname", "account a\nhost h\nfrom x@%M\n", "-a", "a"),
    case("subst-mailname-domain", "account a\nhost h\ndomain %M\n", "-a", "a"),
    case("subst-mailname-serverinfo", "account a\nhost h\nfrom x@%M\n", "-a", "a", "--serverinfo"),
    case("empty-account-name", "account a\nhost h\n", "-a", ""),
    case("defaults-allow-from-override-off", "defaults\nallow_from_override off\naccount a\n"
         "host h\nfrom a@x\n", "-a", "a", "-f", "z@z"),
    case("auto-from", "account a\nhost h\nauto_from\nmaildomain example.com\nfrom f@x\n",
         "-a", "a", "-f", "c@x"),
    case("auto-from-no-domain", "account a\nhost h\nauto_from\n", "-a", "a"),
    case("auto-from-empty-domain", "account a\nhost h\nauto_from\nmaildomain\n", "-a", "a"),
    # --- files
    Case("discover-msmtprc", {".msmtprc": "host rc\n", ".config/msmtp/config": "host xdg\n"}),
    Case("discover-xdg-default", {".config/msmtp/config": "host xdg\n"}),
    Case("discover-xdg-set", {"x/msmtp/config": "host xdg\n"},
         env={"XDG_CONFIG_HOME": "{home}/x/"}),
    Case("discover-xdg-empty", {".config/msmtp/config": "host xdg\n"}, env={"XDG_CONFIG_HOME": ""}),
    Case("discover-nothing", {}),
    Case("discover-directory", {".msmtprc/x": "host h\n"}),
    Case("discover-home-trailing-slash", {".config/msmtp/config": "host xdg\n"},
         env={"HOME": "{home}/"}),
    case("dash-c-missing", None, "-C", "{home}/nope"),
    case("dash-c-directory", None, "-C", "{home}"),
    case("dash-c-no-tilde", None, "-C", "~/rc"),
]

SYSTEM_CASES = [
    Case("system-only", {}, system="account sys\nhost syshost\n", args=("-a", "sys")),
    Case("system-default", {}, system="host sysdefault\n"),
    Case("system-and-user-merge", {".msmtprc": "account shared\nhost usershared\nfrom s@x\n"
                                                "account u\nhost uhost\n"},
         system="account sys\nhost syshost\nfrom s@x\naccount shared\nhost sysshared\n"
                "port 99\naccount default\nhost sysdefault\n", args=("-f", "s@x")),
    Case("system-replaced-entirely", {".msmtprc": "account shared\nhost usershared\n"},
         system="account shared\nhost sysshared\nport 99\n", args=("-a", "shared")),
    Case("system-account-not-found", {".msmtprc": "account u\nhost h\n"},
         system="account sys\nhost h\n", args=("-a", "nope")),
    Case("system-syntax-error", {}, system="bogus\n"),
    Case("system-no-cross-inheritance", {".msmtprc": "account u : sys\n"},
         system="account sys\nhost h\n", args=("-a", "u")),
    Case("system-no-cross-defaults", {".msmtprc": "account u\nhost h\n"},
         system="defaults\nport 77\n", args=("-a", "u")),
    Case("system-password-not-checked", {}, system="host h\npassword x\n"),
    Case("system-empty", {".msmtprc": "host h\n"}, system=""),
    Case("system-eval", {}, system="eval echo host evaluated\n"),
    Case("system-long-line", {}, system="host " + "h" * 600 + "\n"),
    Case("system-eval-no-output", {}, system="eval true\n"),
]


@pytest.fixture(scope="module")
def msmtp() -> str:
    return msmtp_binary()


@pytest.fixture(scope="module")
def fake_etc(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return None
    return copy_of_etc(tmp_path_factory.mktemp("etc-copy"))


def compare(msmtp: str, case_: Case, tmp_path: Path, fake_etc: Path | None) -> None:
    (tmp_path / "theirs").mkdir()
    (tmp_path / "ours").mkdir()
    (tmp_path / "system").mkdir()
    theirs = run_msmtp(msmtp, case_, tmp_path / "theirs", fake_etc)
    ours = run_smtpq(case_, tmp_path / "ours", tmp_path / "system")
    assert ours.exit_code == theirs.exit_code, (ours, theirs)
    their_stderr = theirs.stderr[:1] if case_.send else theirs.stderr
    assert _homeless(ours.stderr, tmp_path / "ours") == _homeless(their_stderr, tmp_path / "theirs")
    their_stdout = _homeless(theirs.stdout, tmp_path / "theirs")
    assert _homeless(ours.stdout, tmp_path / "ours") == their_stdout


def _homeless(lines: list[str], home: Path) -> list[str]:
    return [line.replace(str(home), "HOME") for line in lines]


@pytest.mark.msmtp
@pytest.mark.parametrize("case_", CASES, ids=[c.name for c in CASES])
def test_same_as_msmtp(msmtp: str, case_: Case, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    compare(msmtp, case_, tmp_path, None)


@pytest.mark.msmtp
@pytest.mark.parametrize("case_", SYSTEM_CASES, ids=[c.name for c in SYSTEM_CASES])
def test_same_as_msmtp_with_a_system_file(msmtp: str, case_: Case, tmp_path: Path,
                                          fake_etc: Path | None) -> None:
    needs(fake_etc is not None, "needs root and unshare(1) to give msmtp a private /etc/msmtprc")
    assert fake_etc is not None
    compare(msmtp, case_, tmp_path, fake_etc)


def test_the_case_names_are_unique() -> None:
    names = [c.name for c in CASES + SYSTEM_CASES]
    assert len(names) == len(set(names))
