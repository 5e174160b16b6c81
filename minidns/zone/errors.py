"""The errors zone loaders raise."""

from __future__ import annotations


class ZoneError(Exception):
    """Zone data that cannot be loaded, with where it was found: ``path:line: reason``.

    ``line`` 0 means the file as a whole (unreadable, no SOA), shown as ``path: reason``. For a
    PowerDNS database, ``path`` is the database file and ``line`` the ``records`` row id.
    """

    def __init__(self, path: str, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}" if line else f"{path}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


class FieldError(ValueError):
    """One field of presentation-format text is invalid; the loader adds the file and line."""
