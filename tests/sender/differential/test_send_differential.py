"""``smtpq-sendmail --send-now`` delivers exactly as msmtp 1.8.23 does.

For every case of :data:`.cases.CASES` the real msmtp and smtpq run with the
same arguments, mail and HOME against the same server, one after the other.
They must agree on:

* the exit code;
* stderr, line for line (the program name replaced);
* the log line (without its time stamp) — and stdout;
* what the server received: every command line and the DATA bytes as sent
  (a wire recorder) or the envelope with its parameters and the content
  (aiosmtpd), with Date/Message-ID values masked and the documented
  deliberate differences applied to msmtp's side (``deliberate``).

Locally these tests skip without msmtp; with ``CI=true`` they fail.
"""

from __future__ import annotations

import pytest

from tests.sender.differential.cases import CASES, Case
from tests.sender.differential.harness import run_program
from tests.support.programs import msmtp_binary, smtpq_sendmail

pytestmark = pytest.mark.msmtp


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_send_now_is_msmtp(case: Case, fixtures, home, prepare_home) -> None:
    msmtp = msmtp_binary()
    target = case.server.start(fixtures)
    prepare_home(target, case.rc, case.files)
    args = [*(() if case.rc else target.args), *case.args]
    theirs = run_program([msmtp, *args], stdin=case.mail, home=home, target=target,
                         tag="msmtp", log=case.log)
    ours = run_program([smtpq_sendmail(), "--send-now", *args], stdin=case.mail, home=home,
                       target=target, tag="smtpq", log=case.log)

    assert (ours.returncode, ours.stderr) == (theirs.returncode, theirs.stderr)
    deliberate = case.deliberate
    assert ours.log == (deliberate.log(theirs.log) if deliberate else theirs.log)
    assert ours.stdout == (deliberate.log([theirs.stdout])[0] if deliberate else theirs.stdout)
    if case.wire:
        assert ours.server == (deliberate.server(theirs.server) if deliberate else theirs.server)


def test_the_table_covers_what_the_brief_lists() -> None:
    names = {c.name for c in CASES}
    for needed in ("t-recipients-and-bcc-removed", "dsn", "dsn-not-supported", "five-megabytes",
                   "starttls", "implicit-tls", "untrusted-certificate", "wrong-host-certificate",
                   "auth-plain", "auth-login", "auth-cram-md5", "auth-wrong-password-plain",
                   "greeting-421", "mail-553", "rcpt-450", "data-451", "end-of-data-554",
                   "connection-refused", "hang-up-after-rcpt", "timeout",
                   "lmtp-one-recipient-refused-after-data"):
        assert needed in names
