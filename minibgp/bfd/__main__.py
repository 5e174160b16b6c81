"""`python -m minibgp.bfd`: run BFD sessions on their own and print every state change.

Useful to try BFD against a router, and for the interop tests.
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
from minibgp.bfd.session import BfdEvent, SessionDown, SessionParameters

EPILOG = """\
example:
  python -m minibgp.bfd --local 10.0.0.1 --peer 10.0.0.2 --min-tx 100 --min-rx 100 --multiplier 3

output, one JSON object per line on standard output:
  {"event": "listening", "source_port": PORT}     once the sockets are open
  {"time": UNIX_TIME, "peer": "10.0.0.2", "event": "up"}
  {"time": UNIX_TIME, "peer": "10.0.0.2", "event": "down", "diag": "CONTROL_DETECTION_TIME_EXPIRED",
   "remote_admin_down": false}

signals:
  SIGUSR1          print each session's state and negotiated timers ({"event": "status", ...})
  SIGTERM, SIGINT  send AdminDown to every peer (RFC 5880 §6.8.16) and exit
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m minibgp.bfd",
        description="Run BFD sessions (RFC 5880, single hop RFC 5881) and print each state change.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--local", required=True, metavar="ADDRESS", help="the local address to send from"
    )
    parser.add_argument(
        "--peer",
        action="append",
        required=True,
        metavar="ADDRESS",
        help="a peer to run a session with (repeatable)",
    )
    parser.add_argument(
        "--min-tx",
        type=int,
        default=300,
        metavar="MS",
        help="Desired Min TX Interval, milliseconds (default: %(default)s)",
    )
    parser.add_argument(
        "--min-rx",
        type=int,
        default=300,
        metavar="MS",
        help="Required Min RX Interval, milliseconds (default: %(default)s)",
    )
    parser.add_argument(
        "--multiplier",
        type=int,
        default=3,
        metavar="N",
        help="Detect Mult: the session goes down after N intervals without a packet "
        "(default: %(default)s)",
    )
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

    def reporter(peer: str) -> Callable[[BfdEvent], None]:
        def report(event: BfdEvent) -> None:
            if isinstance(event, SessionDown):
                _emit(
                    time=time.time(),
                    peer=peer,
                    event="down",
                    diag=event.diag.name,
                    remote_admin_down=event.remote_admin_down,
                )
            else:
                _emit(time=time.time(), peer=peer, event="up")

        return report

    for peer in peers:
        endpoint.add_peer(peer, parameters, reporter(peer))
    loop.add_signal_handler(signal.SIGUSR1, _print_status, endpoint)
    endpoint.start()
    _emit(event="listening", source_port=endpoint.source_port)
    try:
        await stop.wait()
    finally:
        endpoint.close()


def _print_status(endpoint: BfdEndpoint) -> None:
    for peer in endpoint.peers:
        session = peer.session
        detection_time = session.detection_time
        _emit(
            time=time.time(),
            peer=peer.address,
            event="status",
            state=session.state.name,
            local_diag=session.local_diag.name,
            poll_in_progress=session.poll_in_progress,
            transmit_interval_ms=round(session.transmit_interval * 1000, 3),
            detection_time_ms=None if detection_time is None else round(detection_time * 1000, 3),
            remote_min_rx_interval_ms=session.remote_min_rx_interval / 1000,
            remote_desired_min_tx_interval_ms=session.remote_desired_min_tx_interval / 1000,
            remote_detect_mult=session.remote_detect_mult,
        )


if __name__ == "__main__":
    sys.exit(main())
