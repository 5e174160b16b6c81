"""The config file before its meaning: read safely, parsed as TOML, and the line of each key.

Everything that can be wrong with a file becomes one `ConfigError`, a one-line message in the
form compilers use, ``FILE:LINE: KEY: REASON`` (the line and key where they can be known)::

    /etc/minibgp/server1.toml:9: peer[0].asn: must be 1..4294967295
    /etc/minibgp/server1.toml:3: not UTF-8: byte 0xe9 at column 14 (a TOML file is UTF-8)
    /etc/minibgp/server1.toml:2: invalid TOML: Invalid value at column 7
    /etc/minibgp/server1.toml: cannot read: Permission denied

`read_text` refuses what is not a regular file (a directory, a FIFO that would block, a
device) and files over `MAX_CONFIG_SIZE`; `parse_toml` turns tomllib's errors, and arrays or
inline tables nested deeper than `MAX_NESTING`, into located errors; `key_lines` finds where
each key of the document is written, so that an error found in the parsed values can point at
its line.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Any

MAX_CONFIG_SIZE = 1 << 20  # 1 MiB: thousands of announcements; tomllib reads it in under a second
MAX_NESTING = 32  # arrays / inline tables within each other; a config needs 2
_UTF8_BOM = "\ufeff"
_TOML_POSITION = re.compile(r" \(at (?:line (\d+), column (\d+)|end of document)\)$")


class ConfigError(Exception):
    """A config that cannot be used: ``FILE:LINE: KEY: REASON``, line and key when known."""

    def __init__(self, file: str, reason: str, key: str = "", line: int | None = None) -> None:
        self.file = file
        self.reason = _one_line(reason)
        self.key = key
        self.line = line
        where = file if line is None else f"{file}:{line}"
        super().__init__(f"{where}: {key}: {self.reason}" if key else f"{where}: {self.reason}")


def _one_line(text: str, limit: int = 300) -> str:
    """A reason fit for one log line, however long the value it quotes."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_text(path: Path) -> str:
    """The text of a config file; ConfigError if it is not a readable, small, UTF-8 file."""
    name = str(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer (nor stall a SIGHUP).
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ConfigError(name, f"cannot read: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise ConfigError(name, "is a directory, not a config file")
        if not stat.S_ISREG(mode):
            raise ConfigError(name, "not a regular file")
        data = _read_at_most(fd, MAX_CONFIG_SIZE + 1)
    except OSError as exc:
        raise ConfigError(name, f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_CONFIG_SIZE:
        raise ConfigError(name, f"larger than {MAX_CONFIG_SIZE >> 20} MiB; is it the config?")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        raise ConfigError(
            name,
            f"not UTF-8: byte 0x{data[exc.start]:02x} at column {exc.start - line_start + 1} "
            "(a TOML file is UTF-8)",
            line=data.count(b"\n", 0, exc.start) + 1,
        ) from None
    return text.removeprefix(_UTF8_BOM)  # as some editors write it; TOML has none


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = os.read(fd, min(limit - size, 1 << 16))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def parse_toml(text: str, file: str) -> dict[str, Any]:
    """The TOML document; ConfigError with the line of a syntax error or of a nesting too
    deep (which would otherwise exhaust tomllib's recursion)."""
    scan = _Scanner(text)
    scan.run()
    if scan.too_deep_line is not None:
        raise ConfigError(
            file,
            f"invalid TOML: arrays or inline tables nested more than {MAX_NESTING} deep",
            line=scan.too_deep_line,
        )
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        reason, line = _toml_error(str(exc), text)
        raise ConfigError(file, f"invalid TOML: {reason}", line=line) from None
    except RecursionError:  # not expected after the nesting check; never a traceback
        raise ConfigError(file, "invalid TOML: nested too deeply") from None


def _toml_error(message: str, text: str) -> tuple[str, int | None]:
    """tomllib's "Invalid value (at line 2, column 7)" as ("Invalid value at column 7", 2)."""
    found = _TOML_POSITION.search(message)
    if found is None:
        return message, None
    reason = message[: found.start()]
    if found.group(1) is None:
        last_line = max(text.count("\n") + (0 if text.endswith("\n") else 1), 1)
        return f"{reason} at the end of the file", last_line
    return f"{reason} at column {found.group(2)}", int(found.group(1))


def key_lines(text: str) -> dict[str, int]:
    """The line where each key is written, by the dotted name the config's messages use:
    ``speaker`` (its table header), ``speaker.asn``, ``peer[1]`` (the second ``[[peer]]``),
    ``peer[1].bfd.min_tx``, ``announce[0].communities[2]`` (an element of a multi-line array).
    Tolerant: text that is not valid TOML gives what could be found."""
    scan = _Scanner(text)
    scan.run()
    return scan.lines


def error_at(file: str, text: str, key: str, reason: str) -> ConfigError:
    """The error about `key` of the config `text`, at the line where the key is written."""
    return ConfigError(file, reason, key, line_of(key_lines(text), key))


def line_of(lines: dict[str, int], key: str) -> int | None:
    """The line of `key`, else of the nearest enclosing key that is written (a missing key
    points at its table), else None."""
    while key:
        if key in lines:
            return lines[key]
        cut = max(key.rfind("."), key.rfind("["))
        key = key[: max(cut, 0)]
    return None


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_BLANK = " \t\r"


class _Scanner:
    """A lenient single pass over TOML text: table headers, keys, the elements of arrays that
    are a key's value, and how deep arrays and inline tables nest. Not a validator: tomllib
    is; this only finds lines, iteratively (no recursion, whatever the nesting)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.table: list[str] = []  # the current table, as resolved parts ("peer[1]", "bfd")
        self.counts: dict[str, int] = {}  # [[array of tables]] occurrences, by dotted name
        self.lines: dict[str, int] = {}
        self.too_deep_line: int | None = None

    def run(self) -> None:
        text, size = self.text, len(self.text)
        while self.pos < size:
            self._skip_blank()
            if self.pos >= size:
                break
            char = text[self.pos]
            if char == "\n":
                self.line += 1
                self.pos += 1
            elif char == "#":
                self._skip_to_line_end()
            elif char == "[":
                self._header()
            else:
                parts = self._key()
                self._skip_blank()
                if parts and self.pos < size and text[self.pos] == "=":
                    self.pos += 1
                    key = ".".join([*self.table, *parts])
                    self._record(key)
                    self._value(key)
                else:
                    self._skip_to_line_end()

    def _header(self) -> None:
        array = self.text.startswith("[[", self.pos)
        self.pos += 2 if array else 1
        parts = self._key() or [""]
        resolved = self._resolve(parts[:-1])
        name = ".".join([*resolved, parts[-1]])
        if array:
            count = self.counts.get(name, 0)
            self.counts[name] = count + 1
            self._record(name)  # the first one stands for all ("anounce: unknown key")
            self.table = [*resolved, f"{parts[-1]}[{count}]"]
        else:
            self.table = self._resolve(parts)
        self._record(".".join(self.table))
        self._skip_to_line_end()

    def _resolve(self, parts: list[str]) -> list[str]:
        """Header parts, each array of tables replaced by its latest element."""
        resolved: list[str] = []
        for part in parts:
            count = self.counts.get(".".join([*resolved, part]))
            resolved.append(part if count is None else f"{part}[{count - 1}]")
        return resolved

    def _key(self) -> list[str]:
        """A dotted key (bare or quoted parts), or [] when there is none here."""
        text, size = self.text, len(self.text)
        parts: list[str] = []
        while True:
            self._skip_blank()
            if self.pos >= size:
                return parts
            char = text[self.pos]
            if char in "\"'":
                start = self.pos + 1
                self._string()
                parts.append(text[start : max(self.pos - 1, start)])
            else:
                bare = _BARE_KEY.match(text, self.pos)
                if bare is None:
                    return parts
                parts.append(bare.group())
                self.pos = bare.end()
            self._skip_blank()
            if self.pos < size and text[self.pos] == ".":
                self.pos += 1
            else:
                return parts

    def _value(self, key: str) -> None:
        """Skip one value; record the elements of an array that is the value itself."""
        text, size = self.text, len(self.text)
        open_brackets: list[str] = []
        element = 0
        expect_element = False
        while self.pos < size:
            self._skip_blank()
            if self.pos >= size:
                return
            char = text[self.pos]
            if char == "\n":
                if not open_brackets:
                    return
                self.line += 1
                self.pos += 1
                continue
            if char == "#":
                self._skip_to_line_end()
                continue
            if expect_element and char not in ",]":
                self._record(f"{key}[{element}]")
                element += 1
                expect_element = False
            if char in "[{":
                open_brackets.append(char)
                if len(open_brackets) > MAX_NESTING and self.too_deep_line is None:
                    self.too_deep_line = self.line
                expect_element = open_brackets == ["["]
                self.pos += 1
            elif char in "]}":
                self.pos += 1
                if open_brackets:
                    open_brackets.pop()
                if not open_brackets:
                    return
            elif char == ",":
                expect_element = open_brackets == ["["]
                self.pos += 1
            elif char in "\"'":
                self._string()
            else:
                self.pos += 1

    def _string(self) -> None:
        """Skip a basic, literal or multi-line string starting at `pos`."""
        text = self.text
        quote = text[self.pos]
        if text.startswith(quote * 3, self.pos):
            end = text.find(quote * 3, self.pos + 3)
            while quote == '"' and end > 0 and _escaped(text, end):
                end = text.find(quote * 3, end + 1)
            end = len(text) if end < 0 else end + 3
            while end < len(text) and text[end] == quote:  # up to two quotes end the content
                end += 1
            self.line += text.count("\n", self.pos, end)
            self.pos = end
            return
        position = self.pos + 1
        while position < len(text) and text[position] not in (quote, "\n"):
            position += 2 if quote == '"' and text[position] == "\\" else 1
        self.pos = position + 1 if position < len(text) and text[position] == quote else position

    def _record(self, key: str) -> None:
        self.lines.setdefault(key, self.line)

    def _skip_blank(self) -> None:
        text, size = self.text, len(self.text)
        while self.pos < size and text[self.pos] in _BLANK:
            self.pos += 1

    def _skip_to_line_end(self) -> None:
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end


def _escaped(text: str, position: int) -> bool:
    """The character at `position` follows an odd number of backslashes."""
    count = 0
    while position - count - 1 >= 0 and text[position - count - 1] == "\\":
        count += 1
    return count % 2 == 1
