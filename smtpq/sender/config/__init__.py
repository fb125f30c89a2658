"""msmtp's configuration language: files, accounts, inheritance and account choice.

Public entry points (stdlib only, loaded lazily so that ``config.values`` or
``config.settings`` stay cheap to import):

* ``load_config(user_file, *, env, euid=None, notes=None) -> LoadedConfig``
  (``files``): read ``/etc/msmtprc`` (or ``$SMTPQ_SYSTEM_CONFIG``) and the user
  file (``-C FILE``, else ``~/.msmtprc``, else ``$XDG_CONFIG_HOME/msmtp/config``);
* ``resolve_account(config, *, account_name, host, envelope_from, overrides,
  env, …) -> Resolution`` (``choose``): msmtp's account choice, command-line
  overrides, defaults, ``%`` substitutions and checks;
* ``parse_config(data, conffile, *, env) -> ParsedFile`` (``parser``): one file;
* ``pretend_lines(account) -> list[str]`` (``show``): the ``--pretend`` block.

Module map: ``lexer`` (lines), ``commands`` (the command table), ``parser``
(structure, inheritance, ``eval``), ``evaluate`` (running eval/passwordeval),
``paths`` (file locations, ``~``), ``permissions`` (the secrets check),
``files`` (loading and merging), ``matching`` (``-f`` → account),
``wildcard`` (C ``fnmatch``),
``substitute`` (``%U %H %C %M``), ``finalize`` (defaults and checks),
``choose`` (the decision), ``show`` (``--pretend``), ``diagnostics`` (messages),
``values`` (argument checks shared with the command line).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    from typing import Any

_EXPORTS = {
    "load_config": "files",
    "LoadedConfig": "files",
    "resolve_account": "choose",
    "Resolution": "choose",
    "parse_config": "parser",
    "ParsedFile": "parser",
    "pretend_lines": "show",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib  # only here: the hot path imports the submodules directly

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
