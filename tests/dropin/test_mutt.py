"""NeoMutt (or Mutt) in batch mode sends a mail with attachments through smtpq, intact.

``neomutt -n -F muttrc -s SUBJECT -a FILE… -- RCPT < body`` with
``set sendmail=…smtpq-sendmail`` and ``use_envelope_from`` (so mutt passes
``-f``): the server gets the MIME mail with its 8-bit text body and a binary
attachment (every byte value) that decode to exactly what was given.
"""

from __future__ import annotations

import shutil

from tests.dropin.conftest import MailHome, missing, parsed
from tests.support.queue_home import SENDMAIL

BODY = "Grüße aus dem Test.\n.\n..two dots\nFrom the start of a line\n\nBye\n"
BINARY = bytes(range(256)) * 40
NOTES = "Notizen: äöü ß\n" * 50


def mutt() -> str:
    for program in ("neomutt", "mutt"):
        path = shutil.which(program)
        if path is not None:
            return path
    missing("neomutt (Debian package neomutt) or mutt")


def write_muttrc(home: MailHome) -> str:
    muttrc = home.root / "muttrc"
    muttrc.write_text(
        f'set sendmail="{SENDMAIL}"\n'
        'set from="Jörg Tester <me@example.org>"\n'
        "set use_from=yes\nset use_envelope_from=yes\n"
        'set charset="utf-8"\nset send_charset="utf-8"\n'
        'set record=""\nset copy=no\n', encoding="utf-8")
    return str(muttrc)


def test_mutt_batch_mode_with_attachments(mailhome: MailHome) -> None:
    program = mutt()
    (mailhome.root / "data.bin").write_bytes(BINARY)
    (mailhome.root / "notes.txt").write_text(NOTES, encoding="utf-8")
    env = dict(mailhome.env, TERM="dumb")
    mailhome.program([program, "-n", "-F", write_muttrc(mailhome), "-s", "Anhang für dich",
                      "-c", "cc@example.net", "-a", "data.bin", "notes.txt", "--",
                      "bob@example.net"], stdin=BODY.encode(), env=env)

    (received,) = mailhome.arrived(1)
    assert received.mail_from == "me@example.org"
    assert sorted(received.rcpt_tos) == ["bob@example.net", "cc@example.net"]
    mail = parsed(received)
    assert str(mail["Subject"]) == "Anhang für dich"
    assert str(mail["From"]) == "Jörg Tester <me@example.org>"
    assert mail["Date"] is not None and mail["Message-ID"] is not None
    body, data, notes = list(mail.iter_parts())
    assert body.get_content() == BODY
    assert data.get_filename() == "data.bin"
    assert data.get_content() == BINARY
    assert notes.get_filename() == "notes.txt"
    assert notes.get_content() == NOTES
