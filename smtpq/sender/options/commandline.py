"""``CommandLine``: what an msmtp/sendmail command line asks for, fully checked.

Produced by ``smtpq.sender.options.parser.parse_args``.  Everything a mode
needs from argv is here; nothing here has touched a configuration file or the
mail yet (account choice, ``-t`` and ``--read-envelope-from`` come later).
"""

from __future__ import annotations

from smtpq.sender.config.settings import Account
from smtpq.sender.errors import UsageError
from smtpq.sender.record import Record


class Mode:
    """What the program does, after msmtp's precedence (see ``CommandLine.mode``).

    Constants, not an ``enum``: see smtpq.sender.sysexits."""

    SENDMAIL = "sendmail"  # smtpq default: read the mail and enqueue it
    SEND_NOW = "send-now"  # --send-now: deliver synchronously like msmtp
    PRETEND = "pretend"  # -P: print the configuration, exit 0
    SERVERINFO = "serverinfo"  # -S
    RMQS = "rmqs"  # --rmqs=ARG
    CONFIGURE = "configure"  # --configure=ADDR (after --version/--help output)
    VERSION = "version"  # --version, -d0.1
    HELP = "help"  # --help (after --version output if both)
    QUEUE_FLUSH = "queue-flush"  # smtpq: -q[ARG]
    QUEUE_LIST = "queue-list"  # smtpq: -bp


#: Modes that msmtp does not have: they are usage errors there.
SMTPQ_MODES = frozenset({Mode.SEND_NOW, Mode.QUEUE_FLUSH, Mode.QUEUE_LIST})


class CommandLine(Record):
    """The parsed command line.

    ``overrides`` is msmtp's command-line account: only the fields named in
    ``overrides.explicit`` were set and must override the chosen account.
    With ``host`` set msmtp reads no configuration file at all and
    ``overrides`` *is* the account (``-f`` then chooses nothing).
    """

    FIELDS = (
        "mode", "print_version", "print_help", "sendmail", "pretend", "debug", "serverinfo",
        "rmqs", "configure", "config_file", "account_name", "overrides", "envelope_from",
        "read_envelope_from", "read_recipients", "full_name", "recipients", "send_now",
        "queue_argument", "smtpq_extensions",
    )

    def __init__(
        self,
        mode: str = Mode.SENDMAIL,
        print_version: bool = False,
        print_help: bool = False,
        sendmail: bool = True,
        pretend: bool = False,
        debug: bool = False,
        serverinfo: bool = False,
        rmqs: str | None = None,
        configure: str | None = None,
        config_file: str | None = None,
        account_name: str | None = None,
        overrides: Account | None = None,
        envelope_from: str | None = None,
        read_envelope_from: bool = False,
        read_recipients: bool = False,
        full_name: str | None = None,
        recipients: list[str] | None = None,
        send_now: bool = False,
        queue_argument: str | None = None,
        smtpq_extensions: tuple[str, ...] = (),
    ) -> None:
        self.mode = mode
        # Output msmtp produces before (or instead of) the mode's own work.
        self.print_version = print_version  # --version, -d0.1, --debug=0.1
        self.print_help = print_help
        # msmtp's flags, kept because modes combine: -S -P prints the configuration
        # without the sendmail section, -P --rmqs=X prints "RMQS argument = X".
        self.sendmail = sendmail  # msmtp's conf.sendmail
        self.pretend = pretend
        self.debug = debug  # -d, -v, --debug: configuration + SMTP transcript
        self.serverinfo = serverinfo
        self.rmqs = rmqs  # --rmqs argument
        self.configure = configure  # --configure address
        # Configuration and account choice
        self.config_file = config_file  # -C / --file, verbatim
        self.account_name = account_name  # -a / --account
        self.overrides = Account() if overrides is None else overrides
        # Sendmail mode
        self.envelope_from = envelope_from  # -f; "<>" already turned into ""
        self.read_envelope_from = read_envelope_from
        self.read_recipients = read_recipients  # -t
        self.full_name = full_name  # -F
        self.recipients = [] if recipients is None else recipients  # raw operands
        # smtpq additions
        self.send_now = send_now
        self.queue_argument = queue_argument  # the ARG of -qARG ("" for a bare -q)
        self.smtpq_extensions = smtpq_extensions  # "--send-now", "-q", "-bp" as used

    @property
    def host(self) -> str | None:
        """``--host``: the server, and "use only command-line settings"."""
        return self.overrides.host if "host" in self.overrides.explicit else None

    @property
    def msmtp_compatible(self) -> bool:
        """False when smtpq-only options were used (msmtp would reject this argv)."""
        return not self.smtpq_extensions

    def set_envelope_from(self, address: str | None) -> None:
        """Record the address ``--read-envelope-from`` found in the mail (None: none found).

        msmtp stores it as the command-line ``from`` before choosing the
        account, so it both chooses the account and overrides its ``from``
        (without an address the account's ``from`` is then missing).
        """
        self.envelope_from = address
        self.overrides.from_ = address
        self.overrides.explicit.add("from_")

    def check_no_operands(self, parsed_recipients: list[str]) -> None:
        """msmtp's ``too many arguments`` for ``-S``/``--rmqs`` with recipients.

        msmtp checks the recipients *after* its address parser ran over the
        operands (``msmtp -S ''`` is fine), so the caller passes that result.
        """
        if parsed_recipients and self.mode in (Mode.SERVERINFO, Mode.RMQS):
            raise UsageError("too many arguments")
