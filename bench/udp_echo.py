"""The ceiling of an asyncio UDP server on this machine: a uvloop DatagramProtocol that does no
DNS work at all, only sets QR on each query and sends it back.

    python -m bench.udp_echo PORT
"""

from __future__ import annotations

import asyncio
import sys


class Echo(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.sendto = transport.sendto  # type: ignore[attr-defined]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.sendto(data[:2] + bytes((data[2] | 0x80,)) + data[3:], addr)


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", port))
    await asyncio.Event().wait()


if __name__ == "__main__":
    import uvloop

    uvloop.run(serve(int(sys.argv[1])))
