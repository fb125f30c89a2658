"""Who the mail goes to: command-line recipients, then ``-t`` header recipients.

msmtp's rules (man page ``-t``; reference §5.3):

* command-line recipients come first, each argument parsed as an address list;
* with ``-t``, the To, Cc and Bcc fields follow, in header order;
* if any ``Resent-*`` field exists, only the Resent-To, Resent-Cc and Resent-Bcc
  fields of the *first contiguous block* of ``Resent-*`` fields count instead
  (RFC 5322 §3.6.6: each resending prepends such a block);
* there is no deduplication; and no recipient at all is ``no recipients found``.

One deliberate difference: msmtp ends the first Resent- block at the
continuation line of a folded non-address ``Resent-*`` field (``Resent-Date: x``
folded onto two lines), so the Resent-To after it is lost and the mail fails
with ``no recipients found``.  Here a folded field belongs to its block.
"""

from __future__ import annotations

from smtpq.sender.errors import UsageError
from smtpq.sender.message.addresses import parse_address_list
from smtpq.sender.message.headers import Field, HeaderBlock

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Iterable

RECIPIENT_FIELDS = ("to", "cc", "bcc")
RESENT_RECIPIENT_FIELDS = ("resent-to", "resent-cc", "resent-bcc")


def command_line_recipients(args: Iterable[str]) -> list[str]:
    """The addr-specs of the recipient arguments (``'a@x, Jo <j@y>'`` gives two)."""
    found: list[str] = []
    for arg in args:
        found.extend(parse_address_list(arg, what="recipient"))
    return found


def resent_block(headers: HeaderBlock) -> list[Field]:
    """The first contiguous run of ``Resent-*`` fields (empty if there is none)."""
    block: list[Field] = []
    for field in headers.fields:
        if not field.lname.startswith("resent-"):
            continue
        if block and field.index != block[-1].index + 1:
            break
        block.append(field)
    return block


def header_recipients(headers: HeaderBlock) -> list[str]:
    """The ``-t`` recipients: Resent- block addresses if there is one, else To/Cc/Bcc."""
    resent = resent_block(headers)
    if resent:
        fields = [f for f in resent if f.lname in RESENT_RECIPIENT_FIELDS]
    else:
        fields = [f for f in headers.fields if f.lname in RECIPIENT_FIELDS]
    found: list[str] = []
    for field in fields:
        found.extend(parse_address_list(field.value, what=f"address in {field.name} header"))
    return found


def collect_recipients(
    args: Iterable[str], headers: HeaderBlock | None, *, read_recipients: bool
) -> list[str]:
    """Command-line recipients, then (with ``-t``) the header ones; no deduplication."""
    found = command_line_recipients(args)
    if read_recipients and headers is not None:
        found.extend(header_recipients(headers))
    return found


def require_recipients(recipients: list[str]) -> list[str]:
    """msmtp refuses to send to nobody (exit 64)."""
    if not recipients:
        raise UsageError("no recipients found")
    return recipients
