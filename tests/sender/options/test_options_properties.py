"""Any argument list gives a ``CommandLine`` or a ``UsageError``, never anything else."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from smtpq.sender.errors import UsageError
from smtpq.sender.options import CommandLine, Mode, parse_args
from smtpq.sender.options.table import LONG_OPTIONS

_NAMES = [name for name, _, _ in LONG_OPTIONS]


@st.composite
def _option_like(draw: st.DrawFn) -> str:
    """Dashes, (prefixes of) real names, ``=`` and odd text glued together."""
    name = draw(st.sampled_from(_NAMES))
    pieces = [draw(st.sampled_from(["-", "--", "---", ""])),
              name[:draw(st.integers(0, len(name)))],
              draw(st.sampled_from(["", "=", "=="])),
              draw(st.text(max_size=5))]
    return "".join(pieces)


_ARG = st.one_of(
    st.text(),  # anything, including surrogates, NUL, combining marks, RTL text
    st.text(alphabet="-=qbptdfP0.:é\udcc3 ", max_size=6),
    _option_like(),
)
_ENV = st.sampled_from([{}, {"POSIXLY_CORRECT": "1"}, {"HOME": ""}, {"HOME": "/h"}])


@settings(max_examples=1500, deadline=None)
@given(argv=st.lists(_ARG, max_size=8), env=_ENV, extensions=st.booleans())
def test_every_argument_list_is_a_command_line_or_a_usage_error(
    argv: list[str], env: dict[str, str], extensions: bool
) -> None:
    try:
        cmd = parse_args(argv, environ=env, extensions=extensions)
    except UsageError as e:
        assert isinstance(e.message, str) and e.message
        return
    assert isinstance(cmd, CommandLine) and cmd.mode in vars(Mode).values()
    # Operands are argv items, in argv order.
    remaining = iter(argv)
    assert all(any(r == a for a in remaining) for r in cmd.recipients)
    assert cmd.overrides.explicit <= set(vars(cmd.overrides))
    assert extensions or cmd.msmtp_compatible


@given(argv=st.lists(st.text(), max_size=8))
def test_parsing_is_deterministic(argv: list[str]) -> None:
    first: object
    try:
        first = parse_args(argv, environ={})
    except UsageError as e:
        first = e.message
    try:
        second: object = parse_args(argv, environ={})
    except UsageError as e:
        second = e.message
    assert first == second
