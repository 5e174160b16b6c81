"""The client side of the control socket: one request, and its answer line by line; and the
runtime announcements for scripts:

    from minibgp.control import announce, withdraw, restore
    announce(socket, "169.254.0.1/32", as_path_prepend=2, communities=["no-export"])
    announce(socket, "169.254.0.1/32", med=None)     # an argument left out is kept; None: none
    withdraw(socket, "169.254.0.1/32")
    restore(socket, "169.254.0.1/32")                 # as the config says

Each returns the announcement as `show announcements --json` gives it, or raises ControlError
with the speaker's reason.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypedDict, Unpack


class ControlError(Exception):
    """The speaker could not be reached, or refused the request."""


def request(
    path: Path, command: str, timeout: float | None = 10.0, **arguments: Any
) -> dict[str, Any]:
    """Send one request to the speaker listening on `path`; return its (final) answer."""
    steps = list(request_steps(path, command, timeout, **arguments))
    if not steps:
        raise ControlError(f"{path}: the speaker closed without an answer")
    return steps[-1]


def request_steps(
    path: Path, command: str, timeout: float | None = 10.0, **arguments: Any
) -> Iterator[dict[str, Any]]:
    """Send one request; yield each line of the answer as it comes (a drain's steps).

    `timeout` bounds each wait for a line (None: wait as long as the speaker takes)."""
    for line in request_lines(path, command, timeout, **arguments):
        yield parse_line(path, line)


def parse_line(path: Path, line: bytes) -> dict[str, Any]:
    """One line of an answer; ControlError when it is a refusal, or not a JSON object."""
    try:
        answer = json.loads(line)
    except ValueError:
        raise ControlError(f"{path}: the speaker's answer is not JSON") from None
    if not isinstance(answer, dict):
        raise ControlError(f"{path}: the speaker's answer is not a JSON object")
    if "error" in answer:
        raise ControlError(f"{path}: {answer['error']}")
    return answer


def request_lines(
    path: Path, command: str, timeout: float | None = 10.0, **arguments: Any
) -> Iterator[bytes]:
    """Send one request; yield each line of the answer as it comes, as it came (JSON text).

    `timeout` bounds each wait for a line: a long answer takes as long as it flows."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10.0 if timeout is None else timeout)
        try:
            sock.connect(str(path))
        except OSError as exc:
            raise ControlError(
                f"{path}: cannot reach the speaker ({exc.strerror or exc})"
            ) from None
        sock.sendall(json.dumps({"command": command, **arguments}).encode() + b"\n")
        sock.settimeout(timeout)
        with sock.makefile("rb") as lines:
            while True:
                try:
                    line = lines.readline()
                except OSError as exc:  # the timeout, or the speaker went away
                    raise ControlError(f"{path}: no answer ({exc.strerror or exc})") from None
                if not line:
                    return
                yield line


def show_routes(
    path: Path,
    peer: str | None = None,
    prefix: str | None = None,
    limit: int | None = None,
    timeout: float | None = 10.0,
) -> dict[str, Any]:
    """`show routes`, put together: {"peers": [{address, asn, received, advertised}]}, with
    `received_total` / `advertised_total` where `limit` left routes out. `prefix`: only that
    prefix and those inside it."""
    filters = {"peer": peer, "prefix": prefix, "limit": limit}
    arguments = {key: value for key, value in filters.items() if value is not None}
    peers: list[dict[str, Any]] = []
    routes: list[dict[str, Any]] = []
    for line in request_steps(path, "show routes", timeout, **arguments):
        if "prefix" in line:
            routes.append(line)
        elif "list" in line:
            if not peers or peers[-1]["address"] != line["peer"]["address"]:
                peers.append({**line["peer"], "received": [], "advertised": []})
            routes = peers[-1][line["list"]]
            if line["count"] < line["total"]:
                peers[-1][f"{line['list']}_total"] = line["total"]
    return {"peers": peers}


class AnnounceArguments(TypedDict, total=False):
    """What `announce` may change; a key left out is kept as it is."""

    as_path_prepend: int  # our AS this many extra times, 0..32
    med: int | None  # MULTI_EXIT_DISC; None: none
    communities: list[str]  # "ASN:VALUE" or well-known names ("no-export"); [] none
    large_communities: list[str]  # "GLOBAL:LOCAL1:LOCAL2"
    next_hop: str | None  # None: next-hop self
    peers: list[str] | None  # only to these peers; None: every peer


def announce(
    path: Path, prefix: str, timeout: float | None = 10.0, **changes: Unpack[AnnounceArguments]
) -> dict[str, Any]:
    """Announce `prefix` from the speaker on `path`, or change what it is announced with."""
    return request(path, "announce", timeout, prefix=prefix, **changes)


def withdraw(path: Path, prefix: str, timeout: float | None = 10.0) -> dict[str, Any]:
    """Stop announcing `prefix` (until `announce` or `restore`)."""
    return request(path, "withdraw", timeout, prefix=prefix)


def restore(path: Path, prefix: str, timeout: float | None = 10.0) -> dict[str, Any]:
    """Undo the runtime changes of `prefix`: announced as the config says, or not at all."""
    return request(path, "restore", timeout, prefix=prefix)
