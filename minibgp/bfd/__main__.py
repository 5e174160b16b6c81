"""`python -m minibgp.bfd`: run BFD sessions on their own and print every state change.

    python -m minibgp.bfd --local 10.0.0.1 --peer 10.0.0.2 --min-tx 100 --min-rx 100 --multiplier 3

One JSON object per line on standard output: {"event": "listening"} once the sockets are open,
then {"time": <unix time>, "peer": ..., "event": "up" | "down", "diag": ...}. SIGTERM or SIGINT
sends AdminDown to every peer and exits. Useful to try BFD against a router, and for the
interop tests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from collections.abc import Callable

from minibgp.bfd.endpoint import BfdEndpoint
from minibgp.bfd.session import Event, SessionDown, SessionParameters


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minibgp.bfd", description=__doc__)
    parser.add_argument("--local", required=True, help="local address to bind")
    parser.add_argument("--peer", action="append", required=True, help="peer address (repeat)")
    parser.add_argument("--min-tx", type=int, default=300, help="Desired Min TX, ms")
    parser.add_argument("--min-rx", type=int, default=300, help="Required Min RX, ms")
    parser.add_argument("--multiplier", type=int, default=3, help="Detect Mult")
    args = parser.parse_args(argv)
    parameters = SessionParameters(args.min_tx * 1000, args.min_rx * 1000, args.multiplier)
    asyncio.run(_run(args.local, args.peer, parameters))
    return 0


def _emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


async def _run(local: str, peers: list[str], parameters: SessionParameters) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    endpoint = BfdEndpoint(local, loop)

    def reporter(peer: str) -> Callable[[Event], None]:
        def report(event: Event) -> None:
            if isinstance(event, SessionDown):
                _emit(time=time.time(), peer=peer, event="down", diag=event.diag.name)
            else:
                _emit(time=time.time(), peer=peer, event="up")

        return report

    for peer in peers:
        endpoint.add_peer(peer, parameters, reporter(peer))
    endpoint.start()
    _emit(event="listening", source_port=endpoint.source_port)
    try:
        await stop.wait()
    finally:
        endpoint.close()


if __name__ == "__main__":
    sys.exit(main())
