"""GSSAPI (RFC 4752) end to end against a throw-away MIT Kerberos realm (``k5test``).

Needs the Debian packages ``krb5-kdc``/``krb5-admin-server``/``libkrb5-dev`` and the
Python packages ``gssapi`` and ``k5test``; skips locally when any of them is
missing, and fails in CI (``CI=true``), where ``scripts/setup`` installs them.
The realm has its own KDC on free ports, its own krb5.conf, keytab and credential
cache, all under a temporary directory; nothing on the machine is touched.
"""

from __future__ import annotations

import os
import shutil
import socket

import pytest

from smtpq.sender.errors import DeliveryError
from smtpq.sender.sysexits import ExitCode
from tests.support.programs import needs


def _missing(what: str) -> None:
    needs(False, f"needs {what}", module=True)


try:
    import gssapi  # noqa: F401
    import k5test
except ImportError:
    _missing("the gssapi/k5test Python packages")
if shutil.which("krb5kdc", path="/usr/sbin:/usr/local/sbin:" + os.environ.get("PATH", "")) is None:
    _missing("krb5kdc (Debian krb5-kdc)")


def _free_port_base() -> int:
    """Four consecutive free ports (KDC, kadmin, kpasswd, kprop)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base < 65000 and all(_free(base + i) for i in range(4)):
            return base
    raise RuntimeError("no free port range")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def realm():
    os.environ.setdefault("PATH", "/usr/bin:/bin")
    path = os.environ["PATH"]
    os.environ["PATH"] = f"{path}:/usr/sbin:/usr/local/sbin"
    realm = k5test.K5Realm(portbase=_free_port_base())
    try:
        for host in ("127.0.0.1", "localhost"):
            realm.addprinc(f"smtp/{host}")
            realm.extract_keytab(f"smtp/{host}", realm.keytab)
        yield realm
    finally:
        realm.stop()
        os.environ["PATH"] = path


@pytest.fixture
def kerberos_env(realm, monkeypatch):
    for name, value in realm.env.items():
        monkeypatch.setenv(name, value)
    return realm


def test_gssapi_authenticates_with_the_ticket_in_the_cache(sasl_server, authenticate_to,
                                                           kerberos_env):
    server = sasl_server(mechanisms=["GSSAPI", "PLAIN"])
    method, transcript = authenticate_to(server, auth="GSSAPI", user="user")
    assert method == "GSSAPI"
    assert server.handler.attempts[-1] == ("GSSAPI", kerberos_env.user_princ, True)
    assert server.handler.gssapi_authzid == ""  # msmtp sets no authorization identity
    assert "--> AUTH GSSAPI\r\n" in transcript


def test_gssapi_never_asks_for_a_password(sasl_server, authenticate_to, kerberos_env,
                                          monkeypatch):
    from smtpq.sender.auth import passwords

    def forbidden(*args, **kwargs):
        raise AssertionError("no password source may be consulted for GSSAPI")

    monkeypatch.setattr(passwords, "run_passwordeval", forbidden)
    server = sasl_server(mechanisms=["GSSAPI"])
    assert authenticate_to(server, auth="GSSAPI", user="user", passwordeval="x")[0] == "GSSAPI"


def test_gssapi_without_a_ticket_is_msmtps_error(sasl_server, authenticate_to, kerberos_env,
                                                 monkeypatch, tmp_path):
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / 'empty-ccache'}")
    server = sasl_server(mechanisms=["GSSAPI"])
    with pytest.raises(DeliveryError) as caught:
        authenticate_to(server, auth="GSSAPI", user="user")
    assert caught.value.message.startswith("GNU SASL: GSSAPI error in client")
    assert caught.value.exit_code == ExitCode.EX_SOFTWARE
    assert server.handler.attempts == []


@pytest.mark.msmtp
def test_msmtp_and_we_both_pass_the_same_kerberized_server(sasl_server, authenticate_to,
                                                           kerberos_env):
    import subprocess

    from tests.support.programs import msmtp_binary

    server = sasl_server(mechanisms=["GSSAPI"])
    done = subprocess.run(
        [msmtp_binary(), "--host=127.0.0.1", f"--port={server.port}", "--from=a@example.org",
         "--auth=gssapi", "--user=user", "rcpt@example.net"],
        input=b"Subject: t\n\nbody\n", capture_output=True, timeout=60, start_new_session=True)
    assert (done.returncode, done.stderr) == (0, b"")
    assert authenticate_to(server, auth="GSSAPI", user="user")[0] == "GSSAPI"
    assert [ok for _, _, ok in server.handler.attempts] == [True, True]
