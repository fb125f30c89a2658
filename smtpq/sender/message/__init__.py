"""Message handling in sendmail mode, as msmtp 1.8.23 does it (plus its fixes).

Modules, one job each:

* ``addresses`` — RFC 5322 address lists (headers and command-line recipients);
* ``headers`` — reading the header block from a binary stream;
* ``recipients`` — command-line and ``-t`` recipients, Resent- blocks;
* ``rewrite`` — added From/To/Date/Message-ID, Bcc removal;
* ``envelope`` — the envelope-from precedence;
* ``aliases`` — msmtp's aliases file;
* ``wire`` — CRLF normalisation, dot-stuffing and ``mailsize``, streamed;
* ``compose`` — what follows account choice, in msmtp's order: ``prepare_message``
  (the mail itself is taken in once by ``smtpq.sender.modes.intake``).

Nothing is imported here, so importing one module stays cheap.
"""
