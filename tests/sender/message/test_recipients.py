"""Recipients: the command line first, then (``-t``) To/Cc/Bcc or the first Resent- block.

Each expectation below was observed with msmtp 1.8.23 unless it says otherwise.
"""

from __future__ import annotations

import io

import pytest

from smtpq.sender.errors import DataError, UsageError
from smtpq.sender.message.headers import HeaderBlock, read_header_block
from smtpq.sender.message.recipients import (
    collect_recipients,
    command_line_recipients,
    header_recipients,
    require_recipients,
    resent_block,
)
from smtpq.sender.sysexits import ExitCode

REFERENCE_5_3 = b"""\
From: "Sender, Real" <real.sender@example.org>
To: "Doe, John" <john@example.net>, plain@example.net (a comment),
\tcontinued@example.net
cc: Friends: f1@example.net, "F Two" <f2@example.net>;, nobody-group:;
BCC: hidden1@example.net,
 hidden2@example.net
X-Other: not@recipient.example

To: body@x
Bcc: bodybcc@x
"""


def block(data: bytes) -> HeaderBlock:
    return read_header_block(io.BytesIO(data))


def test_reference_example_in_header_order() -> None:
    assert header_recipients(block(REFERENCE_5_3)) == [
        "john@example.net", "plain@example.net", "continued@example.net",
        "f1@example.net", "f2@example.net", "hidden1@example.net", "hidden2@example.net",
    ]


def test_command_line_recipients_come_first_without_deduplication() -> None:
    headers = block(b"To: a@x, b@x\nCc: a@x\n\n")
    assert collect_recipients(["cmd@x", "a@x"], headers, read_recipients=True) == [
        "cmd@x", "a@x", "a@x", "b@x", "a@x",
    ]


def test_without_dash_t_headers_are_ignored() -> None:
    headers = block(b"To: a@x\n\n")
    assert collect_recipients(["cmd@x"], headers, read_recipients=False) == ["cmd@x"]


def test_each_argument_is_an_address_list() -> None:
    assert command_line_recipients(["John <j@x>", "a@x, b@y", ""]) == ["j@x", "a@x", "b@y"]


def test_field_names_are_case_insensitive_but_need_the_colon_right_after() -> None:
    headers = block(b"TO: a@x\ncC: b@x\nbcc: c@x\nTo : not@counted\nToo: no@x\n\n")
    assert header_recipients(headers) == ["a@x", "b@x", "c@x"]


def test_only_empty_groups_mean_no_recipients() -> None:
    headers = block(b"To: undisclosed-recipients:;\n\n")
    assert header_recipients(headers) == []
    with pytest.raises(UsageError) as info:
        require_recipients(collect_recipients([], headers, read_recipients=True))
    assert info.value.message == "no recipients found"
    assert info.value.exit_code == ExitCode.EX_USAGE


def test_a_malformed_recipient_header_is_a_data_error_naming_it() -> None:
    with pytest.raises(DataError, match="^invalid address in Cc header"):
        header_recipients(block(b"To: a@x\nCc: john doe@x\n\n"))


# -- Resent- blocks (RFC 5322 §3.6.6) ------------------------------------------------

def test_resent_headers_replace_to_cc_bcc() -> None:
    headers = block(
        b"Resent-From: r@x\nResent-To: rt@x\nResent-Cc: rc@x\nResent-Bcc: rb@x\n"
        b"Resent-Date: x\nTo: t@x\nResent-To: second@x\nResent-Bcc: rb2@x\nBcc: b@x\n\n"
    )
    assert header_recipients(headers) == ["rt@x", "rc@x", "rb@x"]


def test_only_the_first_contiguous_resent_block_counts() -> None:
    headers = block(b"To: t@x\nResent-To: rt@x\nX: y\nResent-To: second@x\n\n")
    assert [f.value for f in resent_block(headers)] == [" rt@x"]
    assert header_recipients(headers) == ["rt@x"]


def test_a_resent_block_without_recipient_fields_gives_none() -> None:
    headers = block(b"To: t@x\nResent-Subject: s\n\n")
    assert header_recipients(headers) == []


def test_resent_names_are_case_insensitive() -> None:
    assert header_recipients(block(b"To: t@x\nresent-to: lower@x\n\n")) == ["lower@x"]


def test_a_folded_resent_field_stays_in_its_block() -> None:
    # Deliberate difference: msmtp 1.8.23 ends the block at the continuation
    # line and then finds no recipients at all.
    headers = block(b"Resent-Date: x\n y\nResent-To: rt@x\n\n")
    assert header_recipients(headers) == ["rt@x"]


def test_folded_resent_address_fields_continue() -> None:
    headers = block(b"Resent-To: rt@x,\n rt2@x\nResent-Cc: rc@x\n\n")
    assert header_recipients(headers) == ["rt@x", "rt2@x", "rc@x"]
