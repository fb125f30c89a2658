"""The plain-TOML reader of the settings file agrees with ``tomllib``, or steps aside.

``parse_simple`` exists only to spare every enqueue ``tomllib``'s import; it
must never read a file differently: either it returns what ``tomllib`` does,
or None (and ``tomllib`` decides, errors included).
"""

from __future__ import annotations

import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtpq.queue.simple_toml import parse_simple

PLAIN = [
    "",
    "\n\n",
    '[queue]\nafter_enqueue = "none"\n',
    '# smtpq\n[queue]\nafter_enqueue = "flush"  # the default\nmax_age = "5d"\n',
    "[queue]\r\nparallel_connections = 4\r\n",
    "[ queue ]\nparallel_connections=0\n",
    "[queue]\nx = true\ny = false #c\n",
    "[queue]\ndatabase = 'sqlite:////var/lib/smtpq/q.db'\n",
    '[queue]\ndatabase = "postgresql://u@db/q?sslmode=require#x"\n',
    "top = 1\n[a-b_9]\nk = 99999999999999999999\n",
    '[queue]\ns = ""\nt = \'\'\n\tu\t=\t"tab\tinside"\t# tabs\n',
    '[queue]\nsubject = "héllo wörld"\n',
    "[queue]\nx = 1#c\n[other]#c\nx = 2\n",
]

NOT_PLAIN = [
    '[queue]\nx = "a\\"b"\n',  # escapes
    "[queue]\nx = 1_000\n",
    "[queue]\nx = +1\n",
    "[queue]\nx = -1\n",
    "[queue]\nx = 01\n",  # invalid TOML: tomllib reports it
    "[queue]\nx = 1.5\n",
    "[queue]\nx = [1, 2]\n",
    "[queue]\nx = { a = 1 }\n",
    '[queue]\nx = """multi"""\n',
    "[queue]\nx = '''multi'''\n",
    "[queue]\nx = 1979-05-27\n",
    "[queue.sub]\nx = 1\n",
    "[[queue]]\nx = 1\n",
    '"quoted" = 1\n',
    "a.b = 1\n",
    "[queue]\nx = 1\nx = 2\n",  # duplicate key: an error
    "[queue]\n[queue]\n",  # duplicate table: an error
    "queue = 1\n[queue]\n",
    "[queue]\nx = 1 y\n",
    "[queue]\nx = \n",
    "[queue]\nx = 1\r",  # a CR that is not part of CRLF
    "[queue]\nx = \"\x01\"\n",
    "# \x7f\n",
    "\ufeffx = 1\n",
    "[queue\nx = 1\n",
    "[queue] trailing\n",
]


@pytest.mark.parametrize("text", PLAIN)
def test_plain_files_read_as_tomllib_reads_them(text: str):
    assert parse_simple(text.encode()) == tomllib.loads(text)


@pytest.mark.parametrize("text", NOT_PLAIN)
def test_anything_else_is_left_to_tomllib(text: str):
    assert parse_simple(text.encode()) is None


def test_bytes_that_are_not_utf8_are_left_to_tomllib():
    assert parse_simple(b"[queue]\nx = '\xff'\n") is None


_FRAGMENTS = st.sampled_from([
    "[queue]", "[ queue ]", "[other]", "[[x]]", "[a.b]", "x = 1", "y=2", "x = 01", "x = +3",
    'x = "v"', "x = 'v'", 'x = "a\\tb"', 'x = "a#b"', "x = true", "x = truex", "x = 1 # c",
    "x = 1#c", "x = [1]", "# comment", "", "  ", "\t", 'x = "', "x", "= 1", "x = ",
    "z = 99999999999999999999", "x = 1.0", 'x = """a"""', "é = 1", "x = 'é'", "queue = 1",
])


@settings(max_examples=400, deadline=None)
@given(st.lists(_FRAGMENTS, max_size=8), st.sampled_from(["\n", "\r\n"]))
def test_whenever_it_answers_tomllib_agrees(lines: list[str], newline: str):
    text = newline.join(lines)
    simple = parse_simple(text.encode())
    try:
        expected = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        assert simple is None  # an error is always tomllib's to report
        return
    assert simple is None or simple == expected
