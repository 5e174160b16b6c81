"""FRR's daemons asked directly on their vty sockets, as vtysh does, without a vtysh process.

Each FRR daemon of the lab listens on `<run dir>/<daemon>.vty` (a unix socket: reachable from
outside the node's namespace). vtysh's protocol on it: the client writes a command line ended
by a NUL octet; the daemon answers with the command's output followed by three NUL octets and
one octet of status (0: success). A connection starts in view mode; `enable` reaches the
commands some daemons (bfdd) keep for enable mode. Asking this way takes well under a
millisecond, where starting vtysh takes tens: the page polls every router several times a
second.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

TRAILER = b"\0\0\0"
MAX_ANSWER = 16 * 1024 * 1024


class VtyError(Exception):
    """The daemon could not be reached, or refused or did not know the command."""


async def vty_commands(socket_path: Path, commands: list[str], timeout: float = 2.0) -> list[str]:
    """Run `commands` one after the other on one connection; return each one's output."""
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_unix_connection(str(socket_path), limit=MAX_ANSWER), timeout
        )
    except (OSError, TimeoutError) as error:
        raise VtyError(f"{socket_path}: {error}") from None
    try:
        outputs = []
        for command in commands:
            writer.write(command.encode() + b"\0")
            outputs.append(await asyncio.wait_for(_answer(reader, socket_path, command), timeout))
        return outputs
    except (OSError, TimeoutError) as error:
        raise VtyError(f"{socket_path}: {command}: {error or 'no answer'}") from None
    finally:
        writer.close()


async def _answer(reader: asyncio.StreamReader, socket_path: Path, command: str) -> str:
    data = bytearray()
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            raise VtyError(f"{socket_path}: closed while answering {command!r}")
        data += chunk
        if len(data) >= 4 and data[-4:-1] == TRAILER:
            break
        if len(data) > MAX_ANSWER:
            raise VtyError(f"{socket_path}: answer to {command!r} too long")
    status = data[-1]
    text = data[:-4].decode(errors="replace")
    if status != 0:
        raise VtyError(f"{socket_path}: {command!r}: {text.strip() or f'status {status}'}")
    return text


async def vty_json(socket_path: Path, command: str, enable: bool = False) -> Any:
    """One `... json` command's output, parsed."""
    commands = ["enable", command] if enable else [command]
    text = (await vty_commands(socket_path, commands))[-1]
    try:
        return json.loads(text) if text.strip() else {}
    except ValueError:
        raise VtyError(f"{socket_path}: {command!r} did not answer JSON") from None
