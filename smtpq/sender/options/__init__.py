"""The msmtp/sendmail command line: a table-driven GNU getopt_long → ``CommandLine``.

``parse_args(argv)`` is the entry point; ``help_text(prog)`` (in ``helptext``)
is imported only by ``--help``.  Stdlib only: this is on the enqueue hot path.
"""

from smtpq.sender.options.commandline import SMTPQ_MODES, CommandLine, Mode
from smtpq.sender.options.parser import parse_args

__all__ = ["SMTPQ_MODES", "CommandLine", "Mode", "parse_args"]
