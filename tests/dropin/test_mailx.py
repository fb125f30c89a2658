"""mailx (bsd-mailx, or s-nail) sends through smtpq's ``sendmail`` link, intact.

bsd-mailx runs ``/usr/sbin/sendmail`` unless ``set sendmail=PATH``; here
PATH is the ``sendmail`` link ``smtpq link`` made (as it would be in /usr/sbin),
so argv[0] is ``sendmail`` and smtpq runs in sendmail mode.  The server gets
the 8-bit body, the Subject, To and Cc as given.
"""

from __future__ import annotations

import shutil

from tests.dropin.conftest import Linked, MailHome, missing, parsed

#: 8-bit text, a lone dot, and a 995-character line (RFC 5321 §4.5.3.1.6 allows 998).
BODY = "Zeile eins: Grüße ✓\n.\n" + "long " * 199 + "\nlast line\n"


def mailx_and_rc(home: MailHome, sendmail: str) -> tuple[list[str], dict[str, str]]:
    """The mailx command and its environment, configured to run *sendmail*."""
    rc = home.root / "mailrc"
    if (path := shutil.which("bsd-mailx")) is not None:
        rc.write_text(f"set sendmail={sendmail}\n")
        return [path], dict(home.env, MAILRC=str(rc))
    if (path := shutil.which("s-nail")) is not None:
        rc.write_text(f"set mta={sendmail}\nset ttycharset=utf-8 sendcharsets=utf-8\n")
        return [path, "-n"], dict(home.env, MAILRC=str(rc))
    missing("mailx (Debian package bsd-mailx or s-nail)")


def test_mailx_sends_through_the_sendmail_link(mailhome: MailHome, linked: Linked) -> None:
    command, env = mailx_and_rc(mailhome, str(linked.sendmail))
    mailhome.program([*command, "-s", "Betreff: Grüße", "-c", "cc@example.net",
                      "carol@example.net"], stdin=BODY.encode(), env=env)

    (received,) = mailhome.arrived(1)
    assert sorted(received.rcpt_tos) == ["carol@example.net", "cc@example.net"]
    assert received.mail_from == "me@example.org"
    mail = parsed(received)
    assert str(mail["Subject"]) == "Betreff: Grüße"
    assert str(mail["To"]) == "carol@example.net"
    assert str(mail["Cc"]) == "cc@example.net"
    assert mail.get_content() == BODY
