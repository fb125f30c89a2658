"""Our wire behaviour next to the real msmtp's, against the same smtp-sink."""

from __future__ import annotations

import io
import subprocess

import pytest

from smtpq.sender.protocol.session import Session
from smtpq.sender.protocol.transaction import run_transaction
from smtpq.sender.protocol.transcript import debug_printer
from tests.support.programs import msmtp_binary

# Headers msmtp would otherwise add, so both sides send the very same bytes.
MAIL = (b"From: a@example.org\nDate: Tue, 24 Nov 2026 23:16:12 +0000\n"
        b"Message-ID: <fixed@example.org>\nSubject: x\n\n.dot\nbody\n")


def transcript_of_msmtp(port: int, *options: str) -> str:
    done = subprocess.run([msmtp_binary(), "--host=127.0.0.1", f"--port={port}", "-d",
                           "-f", "a@example.org", *options, "t@example.net", "u@example.net"],
                          input=MAIL, capture_output=True, timeout=30, check=True)
    out = done.stdout.decode()
    return out[out.index("<-- "):]


def transcript_of_ours(account, **options) -> str:
    out = io.StringIO()
    wire = MAIL.replace(b"\n", b"\r\n").replace(b"\r\n.dot", b"\r\n..dot")
    with Session.open(account, transcript=debug_printer(out)) as session:
        run_transaction(session, "a@example.org", ["t@example.net", "u@example.net"], [wire],
                        **options).raise_for_msmtp()
    return out.getvalue()


@pytest.mark.msmtp
@pytest.mark.parametrize("sink_options", [{}, {"no_pipelining": True}, {"no_esmtp": True}])
def test_the_transcript_is_msmtps(smtp_sink, sink_options):
    sink = smtp_sink(**sink_options)
    assert transcript_of_ours(sink.account()) == transcript_of_msmtp(sink.port)


@pytest.mark.msmtp
def test_the_transcript_with_dsn_is_msmtps(smtp_sink):
    sink = smtp_sink()
    ours = transcript_of_ours(sink.account(), dsn_notify="FAILURE,DELAY", dsn_return="HDRS")
    assert ours == transcript_of_msmtp(sink.port, "--dsn-notify=failure,delay",
                                       "--dsn-return=headers")


@pytest.mark.msmtp
def test_the_lmtp_transcript_is_msmtps(smtp_sink):
    sink = smtp_sink(lmtp=True)
    assert transcript_of_ours(sink.account()) == transcript_of_msmtp(sink.port, "--protocol=lmtp")
