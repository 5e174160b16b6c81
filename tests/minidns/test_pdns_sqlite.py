"""PowerDNS gsqlite3 databases: the seed's, made by pdnsutil, and hand-made ones for each rule."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from dnslib import QTYPE

from minidns.zone import ZoneError, ZoneSet, create_seed_database, load_pdns_sqlite, name_key
from minidns.zone.pdns_sqlite import DEBIAN_SCHEMA
from minidns.zone.rdata import rrtype_name
from tests.conftest import require, require_programs
from tests.minidns.pdns_bind import axfr, start_pdns_server, stop_pdns, wait_for_pdns, zone_records

# The two tables as PowerDNS's schema has them (the columns minidns reads, and a few more).
SCHEMA = """
CREATE TABLE domains (id INTEGER PRIMARY KEY, name VARCHAR(255) NOT NULL, master VARCHAR(128),
    last_check INTEGER, type VARCHAR(8) NOT NULL, notified_serial INTEGER, account VARCHAR(40));
CREATE TABLE records (id INTEGER PRIMARY KEY, domain_id INTEGER, name VARCHAR(255),
    type VARCHAR(10), content VARCHAR(65535), ttl INTEGER, prio INTEGER, disabled BOOLEAN DEFAULT 0,
    ordername VARCHAR(255), auth BOOL DEFAULT 1);
"""
SOA = ("example.com", "SOA", "ns1.example.com hostmaster.example.com 1 10800 3600 604800 3600")

Row = tuple[str, str, int, str]


def make_database(path: Path, records: list[tuple[object, ...]], zone: str = "example.com") -> Path:
    """A database with one zone and `records`: (name, type, content[, ttl, prio, disabled])."""
    with sqlite3.connect(path) as connection:
        connection.executescript(SCHEMA)
        connection.execute("INSERT INTO domains (id, name, type) VALUES (1, ?, 'NATIVE')", (zone,))
        for record in records:
            defaults = (3600, 0, 0)[len(record) - 3 :]  # ttl, prio, disabled
            connection.execute(
                "INSERT INTO records (domain_id, name, type, content, ttl, prio, disabled)"
                " VALUES (1, ?, ?, ?, ?, ?, ?)",
                (*record, *defaults),
            )
    connection.close()
    return path


def rows(zones: ZoneSet) -> set[Row]:
    return {
        (str(rrset.name), rrtype_name(rrset.rtype), rrset.ttl, repr(rd))
        for zone in zones
        for rrset in zone.rrsets()
        for rd in rrset.rdatas
    }


def test_records_with_prio_in_front_of_mx_and_srv_content(tmp_path: Path) -> None:
    database = make_database(
        tmp_path / "db",
        [
            SOA,
            ("example.com", "MX", "mail.example.com", 300, 25),
            ("_sip._udp.example.com", "SRV", "5 5060 sip.example.com", 300, 10),
            ("www.example.com", "A", "192.0.2.1", 60),
            ("txt.example.com", "TXT", '"v=spf1 -all" "two words"', 60),
            ("root.example.com", "MX", ".", 60, 0),
        ],
    )
    assert rows(load_pdns_sqlite(database)) - {
        (
            "example.com.",
            "SOA",
            3600,
            "ns1.example.com. hostmaster.example.com. 1 10800 3600 604800 3600",
        )
    } == {
        ("example.com.", "MX", 300, "25 mail.example.com."),
        ("_sip._udp.example.com.", "SRV", 300, "10 5 5060 sip.example.com."),
        ("www.example.com.", "A", 60, "192.0.2.1"),
        ("txt.example.com.", "TXT", 60, '"v=spf1 -all" "two words"'),
        ("root.example.com.", "MX", 60, "0 ."),
    }


def test_disabled_records_and_empty_non_terminals_are_skipped(tmp_path: Path) -> None:
    database = make_database(
        tmp_path / "db",
        [
            SOA,
            ("off.example.com", "A", "192.0.2.9", 60, 0, 1),
            ("b.example.com", None, None, None, None),  # an ENT row, as pdnsutil rectify-zone adds
            ("a.b.example.com", "A", "192.0.2.1", 60),
        ],
    )
    (zone,) = load_pdns_sqlite(database)
    assert zone.node(name_key("off.example.com")) is None
    assert name_key("b.example.com") in zone.names  # the model makes the ENT itself
    assert zone.get(name_key("a.b.example.com"), QTYPE.A) is not None


def test_several_zones(tmp_path: Path) -> None:
    database = make_database(tmp_path / "db", [SOA])
    with sqlite3.connect(database) as connection:
        connection.execute(
            "INSERT INTO domains (id, name, type) VALUES (2, 'example.net', 'NATIVE')"
        )
        connection.execute(
            "INSERT INTO records (domain_id, name, type, content, ttl) VALUES"
            " (2, 'example.net', 'SOA', 'ns.example.net h.example.net 7 1 1 1 1', 60)"
        )
    connection.close()
    zones = load_pdns_sqlite(database)
    assert sorted(str(zone.origin) for zone in zones) == ["example.com.", "example.net."]
    assert zones.find(name_key("www.example.net")).serial == 7  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (("www.example.com", "A", "not-an-address"), "bad IPv4 address"),
        (("www.example.org", "A", "192.0.2.1"), "outside the zone"),
        (("www.example.com", "BOGUS", "x"), "unknown record type"),
        (("www.example.com", "TXT", '"open'), "unterminated quoted string"),
        (("www.example.com", "A", "192.0.2.1", -5), "bad ttl"),
    ],
)
def test_bad_rows_are_zone_errors_naming_the_row(
    tmp_path: Path, record: tuple[object, ...], reason: str
) -> None:
    database = make_database(tmp_path / "db", [SOA, record])
    with pytest.raises(ZoneError) as raised:
        load_pdns_sqlite(database)
    assert (raised.value.path, raised.value.line) == (str(database), 2)  # the records row id
    assert reason in raised.value.reason


def test_zone_without_soa_is_an_error(tmp_path: Path) -> None:
    database = make_database(tmp_path / "db", [("www.example.com", "A", "192.0.2.1")])
    with pytest.raises(ZoneError, match="has no SOA"):
        load_pdns_sqlite(database)


def test_missing_or_foreign_files_are_zone_errors(tmp_path: Path) -> None:
    with pytest.raises(ZoneError, match="no such database file"):
        load_pdns_sqlite(tmp_path / "absent")
    (tmp_path / "text").write_text("not a database")
    with pytest.raises(ZoneError, match="not a PowerDNS gsqlite3 database"):
        load_pdns_sqlite(tmp_path / "text")


# The seed's database, made as the seed made it --------------------------------------------


@pytest.fixture
def seed_database(tmp_path: Path) -> Path:
    require_programs("pdnsutil")
    require(DEBIAN_SCHEMA.is_file(), f"{DEBIAN_SCHEMA} missing (pdns-backend-sqlite3)")
    path = tmp_path / "pdns.sqlite3"
    create_seed_database(path)
    return path


@pytest.mark.interop
def test_seed_database_made_by_pdnsutil(seed_database: Path) -> None:
    (zone,) = load_pdns_sqlite(seed_database)
    assert str(zone.origin) == "example.com."
    assert rows(ZoneSet([zone])) == {
        # pdnsutil create-zone's SOA: its default primary name, serial 0
        (
            "example.com.",
            "SOA",
            3600,
            "a.misconfigured.dns.server.invalid. hostmaster.example.com. 0 10800 3600 604800 3600",
        ),
        ("example.com.", "NS", 3600, "ns1.example.com."),
        ("example.com.", "MX", 3600, "25 mail.example.com."),
        ("www.example.com.", "A", 3600, "192.0.2.1"),
    }


@pytest.mark.interop
def test_seed_database_has_the_records_powerdns_serves(seed_database: Path) -> None:
    require_programs("pdns_server")
    workdir = seed_database.parent / "pdns"
    backend = ["--launch=gsqlite3", f"--gsqlite3-database={seed_database}"]
    process, port = start_pdns_server(workdir, backend)
    try:
        wait_for_pdns(process, port, "example.com")
        served = axfr(port, "example.com")
    finally:
        stop_pdns(process)
    (zone,) = load_pdns_sqlite(seed_database)
    assert served == zone_records(zone)
