"""The client side of the control socket: one request, and its answer line by line."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any


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
                try:
                    answer = json.loads(line)
                except ValueError:
                    raise ControlError(f"{path}: the speaker's answer is not JSON") from None
                if not isinstance(answer, dict):
                    raise ControlError(f"{path}: the speaker's answer is not a JSON object")
                if "error" in answer:
                    raise ControlError(f"{path}: {answer['error']}")
                yield answer
