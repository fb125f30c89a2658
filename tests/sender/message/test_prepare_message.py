"""prepare_message: the rules after account choice together, in msmtp's order, body streamed.

The mail is taken in here as the intake takes it (header block, then the
recipients); ``--read-envelope-from`` and the checks before the account is
chosen are the intake's (tests/sender/modes/test_intake.py).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smtpq.sender.config.settings import Account, HeaderPolicy
from smtpq.sender.errors import ConfigError, DataError, UsageError
from smtpq.sender.message import rewrite
from smtpq.sender.message.compose import PreparedMessage, prepare_message
from smtpq.sender.message.headers import read_header_block
from smtpq.sender.message.recipients import collect_recipients
from smtpq.sender.message.wire import WireEncoder, data_chunks

NOW = 1795561981.0


def prepare(data: bytes | io.BytesIO, account: Account | None = None, *,
            recipients: tuple[str, ...] | list[str] = (), read_recipients: bool = False,
            **kwargs: object) -> PreparedMessage:
    """*data* taken in (headers, then recipients) and prepared for *account*."""
    account = account if account is not None else Account(from_="alice@example.org")
    kwargs.setdefault("now", NOW)
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    headers = read_header_block(stream)
    found = collect_recipients(recipients, headers, read_recipients=read_recipients)
    return prepare_message(stream, account, headers, found, **kwargs)  # type: ignore[arg-type]


def stored(message: PreparedMessage) -> bytes:
    """What the queue stores: rewritten headers then the untouched body."""
    out = io.BytesIO()
    written = message.write_to(out)
    assert written == len(out.getvalue())
    return re.sub(rb"<[0-9a-f]{32}\.", b"<HEX.", out.getvalue())


def test_a_plain_mail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rewrite, "format_date", lambda now: f"DATE({now:.0f})")
    message = prepare(b"Subject: s\r\nBcc: b@x\r\n\r\nbody\r\n.\r\n", recipients=["to@x"])
    assert message.envelope_from == "alice@example.org"
    assert message.recipients == ["to@x"]
    assert stored(message) == (
        b"From: alice@example.org\nDate: DATE(1795561981)\n"
        b"Message-ID: <HEX.alice@example.org>\nSubject: s\n\nbody\r\n.\r\n"
    )


def test_dash_t_reads_recipients_and_removes_bcc() -> None:
    message = prepare(b"To: a@x\nBcc: hidden@x\n\nbody", recipients=["cmd@x"], read_recipients=True)
    assert message.recipients == ["cmd@x", "a@x", "hidden@x"]
    assert b"hidden" not in message.header_bytes()


def test_wire_chunks_are_ready_for_data() -> None:
    message = prepare(b"S: s\n\n.dot\nend", recipients=["a@x"])
    encoder = WireEncoder()
    wire = b"".join(message.wire_chunks(encoder))
    assert wire.endswith(b"\r\n\r\n..dot\r\nend\r\n")
    assert encoder.mailsize == len(wire) - wire.count(b"\r\n") - 1


def test_streaming_directly_equals_streaming_the_stored_file(tmp_path: Path) -> None:
    account = Account(from_="a@x", set_msgid_header=HeaderPolicy.OFF)
    data = b"Subject: s\r\nBcc: b@x\r\n\r\n" + b"line\r\n.x\n\rlone\r" * 1000
    direct = b"".join(prepare(data, account, recipients=["a@x"]).wire_chunks())
    path = tmp_path / "stored"
    with path.open("wb") as out:
        prepare(data, account, recipients=["a@x"]).write_to(out)
    with path.open("rb") as stored_file:
        assert b"".join(data_chunks(stored_file)) == direct
    assert direct.endswith(b"line\r\n..x\r\n\r\nlone\r\n")


def test_dash_f_and_full_name() -> None:
    message = prepare(b"S: s\n\n", recipients=["a@x"], envelope_from_arg="me@x",
                      full_name="Doe, John")
    assert message.envelope_from == "me@x"
    assert message.header_bytes().startswith(b'From: "Doe, John" <me@x>\n')


def test_null_sender() -> None:
    message = prepare(b"S: s\n\n", recipients=["a@x"], envelope_from_arg="<>")
    assert message.envelope_from == ""
    assert message.header_bytes().startswith(b"From: \n")


def test_account_settings_apply() -> None:
    account = Account(
        from_="acct@x", set_from_header=HeaderPolicy.ON, set_date_header=HeaderPolicy.OFF,
        set_msgid_header=HeaderPolicy.OFF, undisclosed_recipients=True, remove_bcc_headers=False,
    )
    message = prepare(b"From: other@x\nTo: a@x\nS: s\n\n", account, recipients=["a@x"])
    assert message.header_bytes() == b"From: acct@x\nTo: undisclosed-recipients:;\nS: s\n\n"


def test_aliases_apply_to_the_envelope_only(tmp_path: Path) -> None:
    aliases = tmp_path / "aliases"
    aliases.write_text("root: r1@x, r2@x\n")
    account = Account(from_="a@x", aliases=str(aliases))
    message = prepare(b"To: root\n\n", account, read_recipients=True)
    assert message.recipients == ["r1@x", "r2@x"]
    assert b"To: root\n" in message.header_bytes()


def test_an_alias_to_nobody_leaves_no_recipients(tmp_path: Path) -> None:
    aliases = tmp_path / "aliases"
    aliases.write_text("nobody:\n")
    with pytest.raises(UsageError, match="^no recipients found$"):
        prepare(b"", Account(from_="a@x", aliases=str(aliases)), recipients=["nobody"])


# -- errors in msmtp's order -----------------------------------------------------------

def test_missing_envelope_from() -> None:
    with pytest.raises(ConfigError, match="^envelope-from address is missing$"):
        prepare(b"S: s\n\n", Account(), recipients=["a@x"])


def test_missing_envelope_from_comes_before_aliases(tmp_path: Path) -> None:
    account = Account(aliases=str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="^envelope-from address is missing$"):
        prepare(b"", account, recipients=["local"])


def test_bad_recipient_is_a_data_error() -> None:
    with pytest.raises(DataError):
        prepare(b"", recipients=["a@x\r\nDATA"])


# -- the From: fields, parsed once ------------------------------------------------------

def test_a_from_address_known_to_the_intake_is_not_looked_for_again() -> None:
    # --read-envelope-from parsed the From: fields already and tells what it found
    with_from = prepare(b"From: (no address here)\n\n", recipients=["a@x"], has_from=True)
    without = prepare(b"From: f@x\n\n", recipients=["a@x"], has_from=False)
    assert not with_from.header_bytes().startswith(b"From: alice")
    assert without.header_bytes().startswith(b"From: alice@example.org\n")


def test_body_is_read_in_chunks_not_at_once() -> None:
    class CountingStream(io.BytesIO):
        largest = 0

        def read(self, size: int | None = -1) -> bytes:
            data = super().read(size)
            CountingStream.largest = max(CountingStream.largest, len(data))
            return data

    stream = CountingStream(b"S: s\n\n" + b"x" * 1_000_000)
    message = prepare(stream, Account(from_="a@x"), recipients=["b@x"])
    sink = io.BytesIO()
    message.write_to(sink, chunk_size=4096)
    assert CountingStream.largest <= 4096
    message.close()


# -- property: Bcc never survives, everything else does ------------------------------------

FIELD_NAMES = st.sampled_from(["To", "Cc", "Bcc", "BCC", "bcc", "Resent-Bcc", "resent-bcc",
                               "Subject", "X-Bcc", "Bcc-Copy", "Resent-To"])
FIELD_VALUES = st.lists(st.sampled_from(["a@x", "b@y", "(c)", "x"]), min_size=1, max_size=3)


@given(st.lists(st.tuples(FIELD_NAMES, FIELD_VALUES, st.sampled_from(["\n", "\r\n"])),
                max_size=8))
def test_no_bcc_field_survives_and_other_fields_keep_their_order(
    fields: list[tuple[str, list[str], str]],
) -> None:
    data = "".join(f"{name}: {f',{end} '.join(values)}{end}" for name, values, end in fields)
    message = prepare(data.encode() + b"\nbody\n", Account(from_="a@x"), recipients=["r@x"])
    head = message.header_bytes().decode()
    names = [line.split(":")[0] for line in head.splitlines() if line and line[0] not in " \t"]
    assert not [n for n in names if n.lower() in ("bcc", "resent-bcc")]
    expected = [n for n, _, _ in fields if n.lower() not in ("bcc", "resent-bcc")]
    assert names[3:] == expected  # after the added From, Date, Message-ID
