"""PHP's ``mail()`` sends through smtpq as ``sendmail -t -i``, found on ``$PATH``.

``sendmail_path = "sendmail -t -i"`` (php.ini's usual value) is run by PHP
through ``sh -c``, so the ``sendmail`` that ``smtpq link`` made is found first
on ``$PATH``.  ``mail()`` returns true, the recipients come from To, Cc and
Bcc, the Bcc header is gone, and the 8-bit body arrives as written.
"""

from __future__ import annotations

from tests.dropin.conftest import Linked, MailHome, need, parsed

SCRIPT = r"""<?php
$ok = mail(
    "Dora Example <dora@example.net>",
    "=?UTF-8?B?" . base64_encode("Bestellung Nr. 42 – Grüße") . "?=",
    "Hallo Dora,\n\ndanke für die Bestellung.\n.\nEnde\n",
    [
        "From" => "Shop <shop@example.org>",
        "Cc" => "eve@example.net",
        "Bcc" => "audit@example.net",
        "Content-Type" => "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding" => "8bit",
        "MIME-Version" => "1.0",
    ]
);
echo $ok ? "sent" : "failed";
"""


def test_php_mail_through_sendmail_on_path(mailhome: MailHome, linked: Linked) -> None:
    php = need("php", "php-cli")
    (mailhome.root / "send.php").write_text(SCRIPT, encoding="utf-8")
    result = mailhome.program(
        [php, "-n", "-d", "sendmail_path=sendmail -t -i", "-d", "mail.add_x_header=0",
         "send.php"], env=mailhome.with_path(*linked.dirs))
    assert result.stdout == b"sent"

    (received,) = mailhome.arrived(1)
    assert sorted(received.rcpt_tos) == ["audit@example.net", "dora@example.net",
                                         "eve@example.net"]
    mail = parsed(received)
    assert mail["Bcc"] is None
    assert str(mail["Subject"]) == "Bestellung Nr. 42 – Grüße"
    assert str(mail["From"]) == "Shop <shop@example.org>"
    assert str(mail["To"]) == "Dora Example <dora@example.net>"
    # PHP writes one more line end after the message (php_mail: "%s\r\n"), kept as given.
    assert mail.get_content() == "Hallo Dora,\n\ndanke für die Bestellung.\n.\nEnde\n\n"
