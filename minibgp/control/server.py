"""The server side of the control socket, inside the speaker: a unix socket, one request per
connection, answered by a handler (minibgp.control.commands)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("minibgp.control")

MAX_REQUEST = 64 * 1024
REQUEST_TIMEOUT = 5.0  # seconds a client has to send its request line

# One answer, or its lines one by one (a line may come already encoded as JSON text).
Answer = dict[str, Any] | AsyncIterator[dict[str, Any] | str]
Handler = Callable[[dict[str, Any]], Answer]


async def start_control_server(path: Path, handler: Handler) -> asyncio.AbstractServer:
    """Listen on `path` (replacing a stale socket); `handler(request)` gives each answer.

    Raises OSError when a running speaker already answers on `path`: taking its socket over
    would leave it unreachable by `show`, and remove the socket for good when we stop.
    """

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), timeout=REQUEST_TIMEOUT)
            answer = _answer(line, handler)
            if isinstance(answer, dict):
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
                return
            try:
                async for step in answer:
                    text = step if isinstance(step, str) else json.dumps(step)
                    writer.write(text.encode() + b"\n")
                    await writer.drain()  # at the reader's pace
            except ConnectionError:
                raise
            except Exception as exc:  # a bug answering must not take the speaker down
                log.exception("control request %r failed", line)
                writer.write(json.dumps({"error": f"internal error: {exc}"}).encode() + b"\n")
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    path.parent.mkdir(parents=True, exist_ok=True)
    if _answers(path):
        raise OSError(f"{path}: another speaker is running there (give this one a control_socket)")
    with contextlib.suppress(FileNotFoundError):
        if path.is_socket():
            path.unlink()
    server = await asyncio.start_unix_server(serve, path=str(path), limit=MAX_REQUEST)
    os.chmod(path, 0o600)
    return server


def _answer(line: bytes, handler: Handler) -> Answer:
    try:
        request = json.loads(line)
    except ValueError:
        return {"error": "the request is not JSON"}
    if not isinstance(request, dict) or not isinstance(request.get("command"), str):
        return {"error": 'the request is not a JSON object with a "command"'}
    try:
        return handler(request)
    except Exception as exc:  # a bug answering must not take the speaker down
        log.exception("control request %s failed", request)
        return {"error": f"internal error: {exc}"}


def _answers(path: Path) -> bool:
    """Whether a process listens on the unix socket `path` (a stale one refuses)."""
    if not path.is_socket():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True
