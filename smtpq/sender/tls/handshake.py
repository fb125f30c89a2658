"""The TLS handshake and the certificate checks after it, failing with msmtp's texts.

* handshake failures: ``TLS handshake failed: …`` (EX_PROTOCOL), worded as GnuTLS
  words the usual cases (a plain-text server: ``An unexpected TLS packet was
  received.``);
* certificate failures: ``TLS certificate verification failed: …``
  (EX_UNAVAILABLE), with GnuTLS's status sentences (``The certificate is NOT
  trusted. The certificate issuer is unknown. …``) or ``the certificate
  fingerprint does not match``.

OpenSSL makes the trust decision; :mod:`.names` only helps word the message.
:data:`PLAIN_TEXT_PEER` is the message for the commonest mistake, SMTPS
(``tls_starttls off``) to a port that speaks plain SMTP first; ``.hints`` adds
what to change.  A queue's session passes a ``deadline`` (``smtpq.sender.protocol
.deadlines``): the handshake then ends at it, however slowly the server sends.
"""

from __future__ import annotations

import select
import ssl

from smtpq.sender.errors import StageTimeout, TlsError
from smtpq.sender.sysexits import ExitCode
from smtpq.sender.tls.context import Check, TlsPolicy

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (import cost)
if TYPE_CHECKING:
    import socket

    from smtpq.sender.protocol.deadlines import Deadline

VERIFY_FAILED = "TLS certificate verification failed"

# GnuTLS's gnutls_certificate_verification_status_print sentences, in its order.
_ISSUER = "The certificate issuer is unknown. "
_NOT_CA = "The certificate issuer is not a CA. "
_INSECURE = "The certificate chain uses insecure algorithm. "
_NOT_YET = "The certificate chain uses not yet valid certificate. "
_EXPIRED = "The certificate chain uses expired certificate. "
_SIGNATURE = "The signature in the certificate is invalid. "
_REVOKED = "The certificate chain is revoked. "
_NAME = "The name in the certificate does not match the expected. "
_SENTENCE_ORDER = (_REVOKED, _ISSUER, _NOT_CA, _INSECURE, _NOT_YET, _EXPIRED, _SIGNATURE, _NAME)

# OpenSSL X509_V_ERR_* codes -> GnuTLS status sentence.
_VERIFY_CODES = {
    2: _ISSUER, 18: _ISSUER, 19: _ISSUER, 20: _ISSUER, 21: _ISSUER,
    24: _NOT_CA, 9: _NOT_YET, 10: _EXPIRED, 4: _SIGNATURE, 7: _SIGNATURE,
    23: _REVOKED, 62: _NAME, 64: _NAME, 66: _INSECURE, 67: _INSECURE, 68: _INSECURE,
}

#: msmtp's message when the peer answered the TLS ClientHello in plain text (GnuTLS's wording).
PLAIN_TEXT_PEER = "TLS handshake failed: An unexpected TLS packet was received."

_UNEXPECTED_PACKET = {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG",
                      "HTTP_REQUEST", "UNEXPECTED_MESSAGE", "UNEXPECTED_RECORD",
                      "WRONG_SSL_VERSION", "UNKNOWN_PROTOCOL"}


def _handshake_text(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "Error in the pull function."
    if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return "The TLS connection was non-properly terminated."
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or ""
        if reason in _UNEXPECTED_PACKET:
            return "An unexpected TLS packet was received."
        if "ALERT" in reason:
            return "A TLS fatal alert has been received."
        return reason.replace("_", " ").lower() or str(exc)
    return "Error in the pull function."  # ECONNRESET and friends, as GnuTLS


def handshake_failed(exc: BaseException) -> TlsError:
    return TlsError(f"TLS handshake failed: {_handshake_text(exc)}",
                    exit_code=ExitCode.EX_PROTOCOL)


def not_trusted(sentences: set[str], detail: str = "") -> TlsError:
    ordered = "".join(s for s in _SENTENCE_ORDER if s in sentences)
    return TlsError(f"{VERIFY_FAILED}: The certificate is NOT trusted. {ordered}{detail}",
                    exit_code=ExitCode.EX_UNAVAILABLE)


def _unverified_leaf(tls: ssl.SSLSocket) -> bytes | None:
    """The server's certificate (DER) even after a failed verification, or None.

    OpenSSL stops at the first problem; GnuTLS (msmtp) names them all, so the
    host name is checked here too.  ``SSLSocket.get_unverified_chain`` is public
    from Python 3.13 (DER bytes); before, the same method exists only on the
    socket's SSL object (it gives certificate objects, read back here as PEM,
    their default form): without either, the host name is just not checked.
    """
    method = (getattr(tls, "get_unverified_chain", None)
              or getattr(getattr(tls, "_sslobj", None), "get_unverified_chain", None))
    chain = method() if method is not None else None
    if not chain:
        return None
    leaf = chain[0]
    return leaf if isinstance(leaf, bytes) else ssl.PEM_cert_to_DER_cert(leaf.public_bytes())


def _verification_failed(exc: ssl.SSLCertVerificationError, tls: ssl.SSLSocket,
                         policy: TlsPolicy) -> TlsError:
    # Only a failed verification checks names (tls.names imports ipaddress: ≈ 1.5 ms).
    from smtpq.sender.tls.names import certificate_matches

    sentence = _VERIFY_CODES.get(exc.verify_code)
    sentences = {sentence} if sentence else set()
    leaf = _unverified_leaf(tls)
    if leaf is not None and policy.hostname and not certificate_matches(leaf, policy.hostname):
        sentences.add(_NAME)
    detail = "" if sentence else f"{exc.verify_message}. "
    return not_trusted(sentences, detail)


def _fingerprint_of(der: bytes, length: int) -> bytes:
    import hashlib  # only tls_fingerprint needs it (≈ 0.8 ms and libcrypto's digests)

    algorithm = {32: "sha256", 20: "sha1", 16: "md5"}.get(length, "sha256")
    return hashlib.new(algorithm, der, usedforsecurity=False).digest()


def _check_fingerprint(tls: ssl.SSLSocket, expected: bytes) -> None:
    der = tls.getpeercert(binary_form=True)
    if not der:
        raise TlsError(f"{VERIFY_FAILED}: no certificate was found")
    if _fingerprint_of(der, len(expected)) != expected:
        raise TlsError(f"{VERIFY_FAILED}: the certificate fingerprint does not match")


def _handshake_by(tls: ssl.SSLSocket, deadline: Deadline) -> None:
    """``do_handshake`` that ends at *deadline*: the blocking one restarts its timeout
    with every record the server sends, so a trickling server could stretch it."""
    per_operation = tls.gettimeout()  # the account's ``timeout`` still bounds each wait
    tls.settimeout(0.0)
    try:
        while True:
            try:
                tls.do_handshake()
                return
            except ssl.SSLWantReadError:
                events = select.POLLIN
            except ssl.SSLWantWriteError:
                events = select.POLLOUT
            left = deadline.check()
            wait = left if per_operation is None else min(left, per_operation)
            poller = select.poll()
            poller.register(tls, events)
            if not poller.poll(wait * 1000):
                deadline.check()
                raise TimeoutError  # the account's timeout, worded as msmtp's
    finally:
        tls.settimeout(per_operation)


def start_tls(sock: socket.socket, policy: TlsPolicy,
              deadline: Deadline | None = None) -> ssl.SSLSocket:
    """Handshake on *sock* (RFC 8314 §3.3 / RFC 3207 §4) and apply the policy's checks."""
    tls = policy.context.wrap_socket(sock, server_hostname=policy.hostname,
                                     do_handshake_on_connect=False,
                                     suppress_ragged_eofs=False)
    try:
        if deadline is None:
            tls.do_handshake()
        else:
            _handshake_by(tls, deadline)
        if policy.check is Check.FINGERPRINT and policy.fingerprint:
            _check_fingerprint(tls, policy.fingerprint)
    except ssl.SSLCertVerificationError as exc:
        error = _verification_failed(exc, tls, policy)
        tls.close()
        raise error from exc
    except (ssl.SSLError, OSError) as exc:
        tls.close()
        raise handshake_failed(exc) from exc
    except (TlsError, StageTimeout):
        tls.close()
        raise
    return tls
