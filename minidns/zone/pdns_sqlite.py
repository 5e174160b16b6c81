"""PowerDNS gsqlite3 databases into a :class:`~minidns.zone.model.ZoneSet`, read-only.

PowerDNS keeps one row per record in ``records`` (name, type, content, ttl, prio, disabled) and
one row per zone in ``domains``. ``content`` is PowerDNS's text form of the rdata: master-file
rdata whose names are absolute without the trailing dot. MX and SRV keep their priority in the
``prio`` column, which goes in front of the content (as PowerDNS's gsql backend does). Disabled
records and rows without a type (PowerDNS's empty non-terminals) are skipped.

:func:`create_seed_database` makes the seed's database with PowerDNS's own tools.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from dnslib import QTYPE, DNSLabel

from .builder import ZoneBuilder
from .checks import ZoneRules
from .errors import FieldError, ZoneError
from .lexer import entries
from .model import ZoneSet, is_subdomain, name_key, name_wire
from .rdata import parse_rdata, rrtype_code
from .text import ROOT, parse_name

DEBIAN_SCHEMA = Path("/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql")
_PRIORITY_TYPES = {QTYPE.MX, QTYPE.SRV}


def load_pdns_sqlite(path: str | os.PathLike[str]) -> ZoneSet:
    """Every zone of a gsqlite3 database; raises ZoneError (``line`` is the records row id)."""
    path = str(path)
    if not os.path.isfile(path):
        raise ZoneError(path, 0, "no such database file")
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise ZoneError(path, 0, f"cannot open the database: {error}") from None
    try:
        domains = connection.execute("SELECT id, name FROM domains").fetchall()
        rows = connection.execute(
            "SELECT id, domain_id, name, type, content, ttl, prio, disabled FROM records"
            " ORDER BY id"
        ).fetchall()
    except sqlite3.Error as error:
        raise ZoneError(path, 0, f"not a PowerDNS gsqlite3 database: {error}") from None
    finally:
        connection.close()
    zones: dict[int, tuple[ZoneBuilder, ZoneRules]] = {}
    for domain_id, name in domains:
        try:
            origin = parse_name(_absolute(str(name)), ROOT)
        except FieldError as error:
            raise ZoneError(path, 0, f"domain {name!r}: {error}") from None
        zones[domain_id] = (ZoneBuilder(origin), ZoneRules(origin))
    for row_id, domain_id, name, rtype, content, ttl, prio, disabled in rows:
        if domain_id not in zones or not rtype or disabled:
            continue
        builder, rules = zones[domain_id]
        try:
            owner, code = _add_record(
                builder, str(name or ""), str(rtype), str(content or ""), ttl, prio
            )
        except FieldError as error:
            raise ZoneError(path, row_id, f"{name} {rtype} {content!r}: {error}") from None
        rules.record(name_wire(owner), code, [], b"\x00", path, row_id)  # names here are absolute
    loaded = []
    for builder, rules in zones.values():
        if builder.count(builder.origin_key, QTYPE.SOA) == 0:
            raise ZoneError(path, 0, f"zone {builder.origin} has no SOA record")
        zone = builder.zone()
        errors = rules.errors(zone)
        if errors:
            raise errors[0]
        loaded.append(zone)
    return ZoneSet(loaded)


def _add_record(
    builder: ZoneBuilder, name: str, rtype: str, content: str, ttl: object, prio: object
) -> tuple[DNSLabel, int]:
    """One ``records`` row into its zone; its owner and type."""
    owner = parse_name(_absolute(name), ROOT)
    if not is_subdomain(name_key(owner), builder.origin_key):
        raise FieldError(f"{owner} is outside the zone {builder.origin}")
    code = rrtype_code(rtype)
    try:
        tokens = [token for entry in entries(content, "content") for token in entry.tokens]
    except ZoneError as error:
        raise FieldError(error.reason) from None
    if code in _PRIORITY_TYPES and prio is not None and tokens[:1] != ["\\#"]:
        tokens.insert(0, str(prio))
    if not isinstance(ttl, int) or not 0 <= ttl < 2**31:
        raise FieldError(f"bad ttl {ttl!r}")
    builder.add(owner, code, ttl, parse_rdata(code, tokens, ROOT))
    return owner, code


def _absolute(name: str) -> str:
    """PowerDNS stores names without the trailing dot; the root is the empty name."""
    return name if name.endswith(".") and not name.endswith("\\.") else name + "."


def create_seed_database(path: str | os.PathLike[str]) -> None:
    """Make the seed's gsqlite3 database at `path` as the seed did, with pdnsutil.

    Debian's schema file, then ``pdnsutil create-zone example.com ns1.example.com``,
    ``add-record example.com @ MX "25 mail.example.com"`` and ``add-record example.com www A
    192.0.2.1``. Needs pdns-backend-sqlite3 and pdns-server (pdnsutil) installed. Raises
    FileExistsError if `path` exists, CalledProcessError if pdnsutil fails.
    """
    path = os.path.abspath(path)
    if os.path.exists(path):
        raise FileExistsError(path)
    with sqlite3.connect(path) as connection:
        connection.executescript(DEBIAN_SCHEMA.read_text())
    connection.close()
    with tempfile.TemporaryDirectory(prefix="minidns-pdnsutil-") as config_dir:
        Path(config_dir, "pdns.conf").write_text(f"launch=gsqlite3\ngsqlite3-database={path}\n")
        for command in (
            ["create-zone", "example.com", "ns1.example.com"],
            ["add-record", "example.com", "@", "MX", "25 mail.example.com"],
            ["add-record", "example.com", "www", "A", "192.0.2.1"],
        ):
            subprocess.run(
                ["pdnsutil", f"--config-dir={config_dir}", *command],
                check=True,
                capture_output=True,
                timeout=60,
            )
