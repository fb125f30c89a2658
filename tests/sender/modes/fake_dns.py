"""A tiny authoritative DNS server for SRV questions (RFC 1035 §4, RFC 2782), UDP and TCP.

``FakeDns({"_submissions._tcp.example.com": [(0, 1, 465, "mail.example.com")]})``
answers those names with SRV records and everything else with NXDOMAIN.
``truncate=True`` answers UDP with the TC bit and no records (the client must
ask again over TCP); ``silent=True`` never answers (a timeout);
``servfail=True`` answers every question with SERVFAIL (a broken server).  ``queries``
lists the names asked, in order.  The answer names point at the question
(RFC 1035 §4.1.4 compression); targets are written uncompressed.
"""

from __future__ import annotations

import socket
import struct
import threading

SRV = 33
Record = tuple[int, int, int, str]  # priority, weight, port, target


def encode_name(name: str) -> bytes:
    labels = [x for x in name.split(".") if x]
    return b"".join(bytes([len(x)]) + x.encode("ascii") for x in labels) + b"\0"


def question_name(packet: bytes) -> tuple[str, int]:
    """The QNAME of *packet* and the offset after QTYPE/QCLASS."""
    labels, offset = [], 12
    while packet[offset]:
        length = packet[offset]
        labels.append(packet[offset + 1:offset + 1 + length].decode("ascii"))
        offset += 1 + length
    return ".".join(labels), offset + 5


def answer(packet: bytes, records: dict[str, list[Record]], *, truncate: bool = False,
           servfail: bool = False) -> bytes:
    ident, flags = struct.unpack("!HH", packet[:4])
    name, end = question_name(packet)
    found = [] if truncate or servfail else records.get(name.lower(), [])
    rcode = 2 if servfail else 0 if name.lower() in records else 3  # SERVFAIL, NXDOMAIN
    out_flags = 0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | rcode | (0x0200 if truncate else 0)
    body = b""
    for priority, weight, port, target in found:
        rdata = struct.pack("!HHH", priority, weight, port) + encode_name(target)
        body += struct.pack("!HHHIH", 0xC00C, SRV, 1, 60, len(rdata)) + rdata
    header = struct.pack("!HHHHHH", ident, out_flags, 1, len(found), 0, 0)
    return header + packet[12:end] + body


def _bind_pair(host: str, port: int) -> tuple[socket.socket, socket.socket]:
    """A UDP and a TCP socket on the same port (a free UDP port may be taken for TCP: retry)."""
    for _ in range(50):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind((host, port))
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind((host, udp.getsockname()[1]))
        except OSError:
            udp.close()
            tcp.close()
            if port:
                raise
            continue
        return udp, tcp
    raise OSError("no port free for both UDP and TCP")


class FakeDns:
    def __init__(self, records: dict[str, list[Record]], *, host: str = "127.0.0.1",
                 port: int = 0, truncate: bool = False, silent: bool = False,
                 servfail: bool = False) -> None:
        self.records = {k.lower(): v for k, v in records.items()}
        self.truncate = truncate
        self.silent = silent
        self.servfail = servfail
        self.queries: list[str] = []
        self.udp, self.tcp = _bind_pair(host, port)
        self.host, self.port = self.udp.getsockname()[:2]
        self.tcp.listen(4)
        for target in (self._serve_udp, self._serve_tcp):
            threading.Thread(target=target, daemon=True).start()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def _serve_udp(self) -> None:
        while True:
            try:
                packet, peer = self.udp.recvfrom(4096)
            except OSError:
                return
            self.queries.append(question_name(packet)[0])
            if not self.silent:
                self.udp.sendto(answer(packet, self.records, truncate=self.truncate,
                                       servfail=self.servfail), peer)

    def _serve_tcp(self) -> None:
        while True:
            try:
                conn, _ = self.tcp.accept()
            except OSError:
                return
            with conn:
                length = struct.unpack("!H", conn.recv(2))[0]
                packet = b""
                while len(packet) < length:
                    packet += conn.recv(length - len(packet))
                self.queries.append("tcp:" + question_name(packet)[0])
                reply = answer(packet, self.records, servfail=self.servfail)
                conn.sendall(struct.pack("!H", len(reply)) + reply)

    def stop(self) -> None:
        self.udp.close()
        self.tcp.close()
