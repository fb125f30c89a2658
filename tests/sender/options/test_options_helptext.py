"""``--help`` is msmtp's text, with the program name and smtpq's additions."""

from __future__ import annotations

import subprocess

import pytest

from smtpq.sender.options.helptext import help_text
from smtpq.sender.options.table import LONG_OPTIONS
from tests.support.programs import msmtp_binary

#: msmtp 1.8.23 lines smtpq changes on purpose (wrong "-F/-v ignored", queueing, bug address).
CHANGED = (
    "  Read a mail from standard input and transmit it to an SMTP or LMTP server.",
    "  -d, --debug                  print debugging information",
    "Accepted but ignored: -A, -B, -bm, -F, -G, -h, -i, -L, -m, -n, -O, -o, -v",
    "Report bugs to <marlam@marlam.de>.",
)


def test_program_name_is_used() -> None:
    text = help_text("sendmail")
    assert "  sendmail [option...] [--] recipient...\n" in text
    assert "  sendmail -bp\n" in text and "msmtp" not in text.replace("like msmtp", "")


def test_smtpq_additions_are_listed() -> None:
    text = help_text("smtpq-sendmail")
    for line in ("  --send-now                   transmit the mail now instead of queueing it",
                 "  -q[argument]                 transmit the queued mails that are due",
                 "  -bp                          list the queued mails",
                 "  -d, -v, --debug              print debugging information",
                 "  -F name                      set the full name for the generated From header",
                 "Accepted but ignored: -A, -B, -bm, -G, -h, -i, -L, -m, -n, -O, -o"):
        assert line + "\n" in text


def test_every_documented_long_option_exists() -> None:
    names = {name for name, _, _ in LONG_OPTIONS}
    for word in help_text("x").split():
        if word.startswith("--") and len(word) > 2:
            assert word[2:].split("=")[0].split("[")[0].rstrip(":,)") in names, word


@pytest.mark.msmtp
def test_msmtps_lines_are_kept_in_order() -> None:
    real = subprocess.run([msmtp_binary(), "--help"], capture_output=True, text=True,
                          check=True).stdout.splitlines()
    ours = help_text("msmtp").splitlines()
    kept = [line for line in real if line not in CHANGED and line]
    position = 0
    for line in kept:
        position = ours.index(line, position) + 1
