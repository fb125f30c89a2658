"""Shared test servers and helpers (fixtures are registered in ``tests/conftest.py``).

* :mod:`.aiosmtpd_server` — aiosmtpd SMTP/LMTP server, plain/STARTTLS/SMTPS, AUTH, forced replies
* :mod:`.sink` — Postfix ``smtp-sink``
* :mod:`.scripted` — raw scripted server for misbehaving peers
* :mod:`.socks5` — in-process SOCKS5 proxy
* :mod:`.certs` — trustme CA and certificates
"""
