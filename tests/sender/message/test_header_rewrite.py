"""Header rewriting: what msmtp adds on top, what it removes, and the two fixes.

Observed with msmtp 1.8.23 (reference §5.1, §5.2) unless marked as a deliberate
difference.
"""

from __future__ import annotations

import io
import os
import re
import time
from collections.abc import Iterator
from email.header import decode_header, make_header

import pytest

from smtpq.sender.errors import DataError
from smtpq.sender.message.headers import HeaderBlock, read_header_block
from smtpq.sender.message.rewrite import (
    format_date,
    format_from,
    format_phrase,
    from_header_address,
    has_from_address,
    make_message_id,
    plan_rewrite,
)

NOW = 1795561981.0  # Tue, 24 Nov 2026 23:13:01 +0000
MSGID_RE = r"<[0-9a-f]{32}\.%s>"


@pytest.fixture
def utc() -> Iterator[None]:
    with timezone("UTC"):
        yield


class timezone:
    """Run a block with TZ set (time.localtime follows it after tzset)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        self.saved = os.environ.get("TZ")
        os.environ["TZ"] = self.name
        time.tzset()

    def __exit__(self, *exc: object) -> None:
        if self.saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = self.saved
        time.tzset()


def block(data: bytes) -> HeaderBlock:
    return read_header_block(io.BytesIO(data))


def rewritten(data: bytes, **settings: object) -> str:
    """The outgoing header block (added lines, then the filtered original)."""
    headers = block(data)
    settings.setdefault("envelope_from", "alice@example.org")
    settings.setdefault("now", NOW)
    rewrite = plan_rewrite(headers, **settings)  # type: ignore[arg-type]
    kept = b"".join(headers.filtered(rewrite.drops))
    text = (rewrite.added + kept).decode()
    return re.sub(r"<[0-9a-f]{32}\.", "<HEX.", text)


# -- headers added on top (§5.1) -------------------------------------------------------

def test_reference_example(utc: None) -> None:
    assert rewritten(b"Subject: t1\nTo: x@example.net\n") == (
        "From: alice@example.org\n"
        "Date: Tue, 24 Nov 2026 23:13:01 +0000\n"
        "Message-ID: <HEX.alice@example.org>\n"
        "Subject: t1\n"
        "To: x@example.net\n"
    )


def test_full_order_with_undisclosed_recipients(utc: None) -> None:
    out = rewritten(b"Subject: s\nTo: a@x\nCc: b@x\nBcc: c@x\n", undisclosed_recipients=True)
    assert out == (
        "From: alice@example.org\n"
        "To: undisclosed-recipients:;\n"
        "Date: Tue, 24 Nov 2026 23:13:01 +0000\n"
        "Message-ID: <HEX.alice@example.org>\n"
        "Subject: s\n"
    )


def test_existing_headers_are_detected_case_insensitively() -> None:
    data = b"date: x\nmessage-id: <y>\nfrom: z@z\n"
    assert rewritten(data) == data.decode()


def test_everything_off_adds_nothing() -> None:
    out = rewritten(b"Subject: s\n", set_from_header="off", set_date_header="off",
                    set_msgid_header="off")
    assert out == "Subject: s\n"


# -- From ------------------------------------------------------------------------------

def test_set_from_header_on_replaces_every_from_with_its_continuation_lines() -> None:
    data = b'From: "Sender, Real"\n <real@example.org>\nSubject: s\nFROM: other@x\n'
    out = rewritten(data, set_from_header="on", set_date_header="off", set_msgid_header="off")
    assert out == "From: alice@example.org\nSubject: s\n"


@pytest.mark.parametrize(
    "empty_from",
    [b"From:\n", b"From: \n", b"From: (just comment)\n", b"From: undisclosed:;\n", b"From: <>\n",
     b'From: "quoted only"\n'],
)
def test_auto_replaces_a_from_without_address(empty_from: bytes) -> None:
    out = rewritten(empty_from + b"X: y\n", set_date_header="off", set_msgid_header="off")
    assert out == "From: alice@example.org\nX: y\n"


def test_auto_keeps_everything_if_some_from_has_an_address() -> None:
    data = b"From:\nSubject: x\nFrom: b@y\n"
    out = rewritten(data, set_date_header="off", set_msgid_header="off")
    assert out == data.decode()


def test_a_from_that_does_not_parse_is_kept() -> None:
    data = b"From: john doe@x\n"
    assert has_from_address(block(data))
    assert rewritten(data, set_date_header="off", set_msgid_header="off") == data.decode()


def test_from_with_a_space_before_the_colon_is_not_a_from_field() -> None:
    out = rewritten(b"From : a@b\n", set_date_header="off", set_msgid_header="off")
    assert out == "From: alice@example.org\nFrom : a@b\n"


def test_null_sender_gives_an_empty_from_like_msmtp() -> None:
    out = rewritten(b"S: s\n", envelope_from="", set_date_header="off", set_msgid_header="off")
    assert out == "From: \nS: s\n"


def test_read_envelope_from_takes_the_first_address_of_the_first_from() -> None:
    headers = block(b'Resent-From: r@x\nFrom:\nFrom: "A, B" <f@x> (c), g@y\nFrom: h@z\n')
    assert from_header_address(headers) == "f@x"
    assert from_header_address(block(b"Subject: s\n")) is None


# -- -F full name ----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "phrase"),
    [
        ("John Doe", "John Doe"),  # as msmtp
        ("", ""),  # msmtp writes "From:  <addr>"
        ("Doe, John \"JD\"", '"Doe, John \\"JD\\""'),  # fix: msmtp writes it verbatim
        ("J. R. Hacker", '"J. R. Hacker"'),
        ("back\\slash", '"back\\\\slash"'),
        (" padded", '" padded"'),
        ("Jörg Ü", "=?utf-8?b?SsO2cmcgw5w=?="),  # fix: msmtp sends raw UTF-8
    ],
)
def test_full_name_is_an_rfc5322_phrase(name: str, phrase: str) -> None:
    assert format_phrase(name) == phrase


def test_from_header_with_full_name() -> None:
    assert format_from("me@example.org", "John Doe") == "From: John Doe <me@example.org>"
    assert format_from("me@example.org", None) == "From: me@example.org"


@pytest.mark.parametrize("bad", ["x\nBcc: victim@example.org", "x\ry", "x\0"])
def test_a_full_name_cannot_inject_headers(bad: str) -> None:
    with pytest.raises(DataError, match="invalid full name"):
        format_phrase(bad)


def test_a_long_non_ascii_full_name_is_folded_into_encoded_words() -> None:
    name = "Ünïcødé " * 12
    phrase = format_phrase(name)
    assert all(line.startswith((" ", "=?")) for line in phrase.split("\n"))
    assert all(len(word) <= 75 for word in phrase.split())  # RFC 2047 §2
    assert str(make_header(decode_header(phrase))) == name


# -- Bcc (§5.2) ------------------------------------------------------------------------

def test_bcc_is_removed_with_its_continuation_lines_case_insensitively() -> None:
    data = b"To: a@x\nBCC: hidden1@x,\n hidden2@x\nSubject: s\nbcc: h3@x\n"
    out = rewritten(data, set_from_header="off", set_date_header="off", set_msgid_header="off")
    assert out == "To: a@x\nSubject: s\n"


def test_keepbcc_keeps_it() -> None:
    data = b"To: a@x\nBcc: b@x\n"
    out = rewritten(data, remove_bcc_headers=False, set_from_header="off",
                    set_date_header="off", set_msgid_header="off")
    assert out == data.decode()


def test_resent_bcc_is_removed_too() -> None:
    # Deliberate difference: msmtp 1.8.23 leaks Resent-Bcc (reference §5.2).
    data = b"Resent-To: a@x\nResent-Bcc: secret@x,\n other@x\nSubject: s\n"
    out = rewritten(data, set_from_header="off", set_date_header="off", set_msgid_header="off")
    assert out == "Resent-To: a@x\nSubject: s\n"


def test_undisclosed_recipients_removes_to_cc_bcc_but_not_resent_to() -> None:
    data = b"To: a@x,\n b@x\nCC: c@x\nbcc: d@x\nResent-To: e@x\nTo : g@x\nToo: h\n"
    out = rewritten(data, undisclosed_recipients=True, remove_bcc_headers=False,
                    set_from_header="off", set_date_header="off", set_msgid_header="off")
    assert out == "To: undisclosed-recipients:;\nResent-To: e@x\nTo : g@x\nToo: h\n"


# -- Date (RFC 5322 §3.3) --------------------------------------------------------------

@pytest.mark.parametrize(
    ("zone", "date"),
    [
        ("UTC", "Tue, 24 Nov 2026 23:13:01 +0000"),
        ("America/New_York", "Tue, 24 Nov 2026 18:13:01 -0500"),
        ("Asia/Kolkata", "Wed, 25 Nov 2026 04:43:01 +0530"),
        ("America/St_Johns", "Tue, 24 Nov 2026 19:43:01 -0330"),
    ],
)
def test_date_is_local_time_in_english_with_numeric_offset(zone: str, date: str) -> None:
    with timezone(zone):
        assert format_date(NOW) == date


def test_the_day_is_zero_padded(utc: None) -> None:
    assert format_date(1767312000.0) == "Fri, 02 Jan 2026 00:00:00 +0000"


def test_date_and_message_id_are_stamped_at_the_given_time(utc: None) -> None:
    out = rewritten(b"S: s\n", now=0.0)
    assert "Date: Thu, 01 Jan 1970 00:00:00 +0000\n" in out


# -- Message-ID (RFC 5322 §3.6.4) ------------------------------------------------------

def test_message_id_uses_the_envelope_from() -> None:
    assert re.fullmatch(MSGID_RE % re.escape("a@example.org"), make_message_id("a@example.org"))


def test_message_id_without_domain_adds_the_canonical_host() -> None:
    assert re.fullmatch(MSGID_RE % "noat@box", make_message_id("noat", hostname="box"))
    assert re.fullmatch(MSGID_RE % "@box", make_message_id("", hostname="box"))


def test_message_ids_are_unique() -> None:
    assert len({make_message_id("a@x") for _ in range(1000)}) == 1000
