"""The benchmark's own minimal BGP speaker: open one session, then blast a pre-encoded feed.

    python -m bench.bgp_sender --feed FILE --connect 127.0.0.1:179 --bind 127.0.0.2

It prints ``ESTABLISHED <t>`` when the session is up and ``SENT <t>`` when the last UPDATE and
End-of-RIB are written (t is time.monotonic(), the same clock in every process), then keeps the
session open (hold time 0: no KEEPALIVEs needed) until it is terminated. Anything the receiver
sends is read and dropped; a NOTIFICATION is printed and ends the sender.
"""

from __future__ import annotations

import argparse
import socket
import struct
import sys
import threading
import time

from bench.bgp_table import end_of_rib

MARKER = b"\xff" * 16
OPEN, UPDATE, NOTIFICATION, KEEPALIVE = 1, 2, 3, 4
AS_TRANS = 23456  # RFC 6793 §9


def message(msg_type: int, body: bytes = b"") -> bytes:
    return MARKER + struct.pack("!HB", 19 + len(body), msg_type) + body


def open_message(asn: int, router_id: str, hold_time: int = 0) -> bytes:
    """OPEN with the capabilities a full-table feed needs (RFC 4271 §4.2); hold time 0 by
    default: no KEEPALIVEs either way."""
    capabilities = (
        bytes((1, 4, 0, 1, 0, 1))  # multiprotocol IPv4 unicast (RFC 4760 §8)
        + bytes((65, 4)) + struct.pack("!I", asn)  # 4-octet AS (RFC 6793 §3)
    )  # fmt: skip
    parameters = bytes((2, len(capabilities))) + capabilities  # RFC 5492 §4
    my_as = asn if asn < 65536 else AS_TRANS
    body = struct.pack("!BHH4sB", 4, my_as, hold_time, socket.inet_aton(router_id), len(parameters))
    return message(OPEN, body + parameters)


def read_message(sock: socket.socket) -> tuple[int, bytes]:
    header = _read_exactly(sock, 19)
    length, msg_type = struct.unpack("!HB", header[16:19])
    return msg_type, _read_exactly(sock, length - 19)


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    data = bytearray()
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("the receiver closed the connection")
        data += chunk
    return bytes(data)


def establish(sock: socket.socket, asn: int, router_id: str, hold_time: int = 0) -> None:
    """OPEN, then KEEPALIVE both ways (RFC 4271 §8.2.2: OpenSent, OpenConfirm, Established)."""
    sock.sendall(open_message(asn, router_id, hold_time))
    seen_open = False
    while True:
        msg_type, body = read_message(sock)
        if msg_type == NOTIFICATION:
            raise ConnectionError(f"NOTIFICATION code {body[0]} subcode {body[1]}")
        if msg_type == OPEN and not seen_open:
            seen_open = True
            sock.sendall(message(KEEPALIVE))
        elif msg_type == KEEPALIVE and seen_open:
            return


def drain(sock: socket.socket) -> None:
    """Read and drop what the receiver sends; print a NOTIFICATION and stop at the end."""
    try:
        while True:
            msg_type, body = read_message(sock)
            if msg_type == NOTIFICATION:
                print(f"NOTIFICATION {body[0]} {body[1]}", flush=True)
                return
    except (ConnectionError, OSError):
        return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bgp_sender", description=__doc__)
    parser.add_argument("--feed", required=True, help="file of encoded UPDATE messages")
    parser.add_argument("--connect", required=True, help="receiver ADDRESS:PORT")
    parser.add_argument("--bind", default="", help="local address to connect from")
    parser.add_argument("--asn", type=int, default=65001)
    parser.add_argument("--router-id", default="127.0.0.2")
    args = parser.parse_args(argv)
    with open(args.feed, "rb") as file:
        feed = file.read()
    host, _, port = args.connect.rpartition(":")
    sock = socket.socket()
    if args.bind:
        sock.bind((args.bind, 0))
    deadline = time.monotonic() + 30
    while True:  # the receiver may still be starting
        try:
            sock.connect((host, int(port)))
            break
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
            sock.close()
            sock = socket.socket()
            if args.bind:
                sock.bind((args.bind, 0))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    establish(sock, args.asn, args.router_id)
    print(f"ESTABLISHED {time.monotonic():.6f}", flush=True)
    reader = threading.Thread(target=drain, args=(sock,), daemon=True)
    reader.start()
    sock.sendall(feed)
    sock.sendall(end_of_rib())
    print(f"SENT {time.monotonic():.6f}", flush=True)
    reader.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
