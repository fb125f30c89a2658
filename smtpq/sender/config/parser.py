"""One msmtprc file → its accounts, as msmtp 1.8.23's ``read_conffile`` builds them.

Structure rules, each verified against the binary:

* ``defaults`` (no argument) makes the following commands change the defaults
  of this file; a later ``defaults`` re-opens the same block, affecting only
  accounts defined after it.
* ``account NAME [: A[, B…]]`` starts an account as a copy of the current
  defaults with an *empty* explicit set, then copies the explicitly set
  settings of A, then B (later wins), and takes their explicit sets too, so
  inheritance is transitive.  Values A merely got from the defaults are not
  copied.  1.8.23 bug kept: ``allow_from_override`` is not inherited.
  Checks, in this order: parent names (``missing account name``,
  ``account X not (yet) defined``), then the name (empty, ``:``/``,``),
  then ``account X was already defined``.
* A command before the first ``account``/``defaults`` silently creates an
  account named ``default`` (so a later ``account default`` fails).
* ``eval CMD`` is replaced by the first line of CMD's output *before* any
  of the above, and that line is not evaluated again (``eval`` in it is an
  unknown command).  Its output has no length limit.
* Accounts that are not yet finished keep msmtp's raw state: ``port`` 0,
  ``tls_trust_file`` None unless set (``system`` is filled in later, only if
  never set explicitly — so a ``tls_trust_file`` with empty argument in
  ``defaults`` has no effect, as in msmtp).
"""

from __future__ import annotations

from smtpq.sender.config import commands, diagnostics
from smtpq.sender.config.lexer import Line, read_lines, split_line, trim_string
from smtpq.sender.config.settings import Account
from smtpq.sender.errors import LineTooLong, NeedsArgument, TakesNoArgument

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from smtpq.sender.config.evaluate import Evaluator

#: Settings that ``account X : Y`` does not copy in msmtp 1.8.23 (fixed in 1.8.24).
NOT_INHERITED = frozenset({"allow_from_override"})


class ParsedFile:
    """The accounts of one file in file order, and whether the permission check applies."""

    __slots__ = ("accounts", "conffile", "has_password_line")

    def __init__(self, conffile: str, accounts: list[Account],
                 has_password_line: bool = False) -> None:
        self.conffile = conffile
        self.accounts = accounts
        # A literal ``password`` line (not one produced by ``eval``) was read.
        self.has_password_line = has_password_line


def new_account(name: str = "", conffile: str | None = None) -> Account:
    """msmtp's ``account_new``: nothing set, trust file not yet defaulted."""
    return Account(name=name, conffile=conffile, tls_trust_file=None)


def inherit(account: Account, parent: Account) -> None:
    """msmtp's ``override_account`` as used by ``account X : parent``."""
    for field in parent.explicit - NOT_INHERITED:
        setattr(account, field, getattr(parent, field))
        if field == "password":
            account.password_from_file = parent.password_from_file
    account.explicit |= parent.explicit


class _Reader:
    """The state of ``read_conffile`` while it walks the lines of one file."""

    def __init__(self, conffile: str, env: Mapping[str, str],
                 evaluator: Evaluator | None) -> None:
        self.conffile = conffile
        self.env = env
        self.evaluator = evaluator
        self.defaults = new_account()
        self.current: Account | None = None
        self.result = ParsedFile(conffile, [])

    def find(self, name: str) -> Account | None:
        return next((a for a in self.result.accounts if a.name == name), None)

    def add_account(self, name: str) -> Account:
        account = self.defaults.copy()
        account.name, account.conffile, account.explicit = name, self.conffile, set()
        self.result.accounts.append(account)
        self.current = account
        return account

    def evaluated(self, line: Line) -> Line:
        """The line itself, or for ``eval CMD`` the line CMD printed."""
        if line.command != "eval":
            return line
        if line.argument == "":
            raise diagnostics.needs_argument(self.conffile, line.number, "eval")
        from smtpq.sender.config.evaluate import bound_to, cannot_read_output  # only for eval

        if self.evaluator is None:
            self.evaluator = bound_to(self.env)
        output = self.evaluator(line.argument)
        if output is None:
            raise diagnostics.file_input_error(self.conffile, cannot_read_output(line.argument))
        command, argument = split_line(output)
        return Line(line.number, command, argument)

    def handle(self, line: Line) -> None:
        assert line.command is not None
        if self.current is None and line.command not in ("account", "defaults"):
            self.add_account("default")  # msmtp 1.2.x compatibility
        if line.command == "defaults":
            if line.argument:
                raise diagnostics.takes_no_argument(self.conffile, line.number, "defaults")
            self.current = self.defaults
        elif line.command == "account":
            self.start_account(line)
        else:
            self.run_command(line)

    def start_account(self, line: Line) -> None:
        name, parents = line.argument, []
        if ":" in name:
            name, parent_list = name.split(":", 1)
            parents = [self.parent(part, line.number) for part in parent_list.split(",")]
            name = trim_string(name)
        if name == "":
            raise diagnostics.line_error(self.conffile, line.number, "missing account name")
        if ":" in name or "," in name:
            raise diagnostics.line_error(
                self.conffile, line.number, "an account name must not contain colons or commas")
        if self.find(name) is not None:
            raise diagnostics.line_error(
                self.conffile, line.number, f"account {name} was already defined")
        account = self.add_account(name)
        for parent in parents:
            inherit(account, parent)

    def parent(self, text: str, number: int) -> Account:
        name = trim_string(text)
        if name == "":
            raise diagnostics.line_error(self.conffile, number, "missing account name")
        parent = self.find(name)
        if parent is None:
            raise diagnostics.line_error(self.conffile, number, f"account {name} not (yet) defined")
        return parent

    def run_command(self, line: Line) -> None:
        assert self.current is not None and line.command is not None
        name, arg, number = line.command, line.argument, line.number
        try:
            commands.apply(self.current, name, arg, self.env)
        except KeyError:
            raise diagnostics.unknown_command(self.conffile, number, name) from None
        except NeedsArgument:
            raise diagnostics.needs_argument(self.conffile, number, name) from None
        except TakesNoArgument:
            raise diagnostics.takes_no_argument(self.conffile, number, name) from None
        except ValueError:
            raise diagnostics.invalid_argument(self.conffile, number, name, arg) from None
        if name == "password":
            self.current.password_from_file = self.conffile if arg else None


def _lines(data: bytes, conffile: str) -> Iterator[Line]:
    try:
        yield from read_lines(data)
    except LineTooLong as error:
        raise diagnostics.file_config_error(conffile, str(error)) from None


def parse_config(
    data: bytes,
    conffile: str,
    *,
    env: Mapping[str, str],
    evaluator: Evaluator | None = None,
) -> ParsedFile:
    """Parse the bytes of *conffile*; ConfigError/InputError with msmtp's messages.

    *env* is the process environment (``~`` expansion; ``eval`` commands run
    in it).  *evaluator* replaces running ``eval`` commands (tests).
    """
    reader = _Reader(conffile, env, evaluator)
    for raw in _lines(data, conffile):
        line = reader.evaluated(raw)
        if line.command is None:
            continue
        if raw.command == "password":
            reader.result.has_password_line = True
        reader.handle(line)
    return reader.result
