"""What zone loading refuses beyond each record's syntax, with file and line, as named-checkzone
and pdnsutil check-zone do; what it warns about; $INCLUDE of what is not a regular file; and
`python -m minidns check-zone`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from dnslib import QTYPE

import minidns.zone.masterfile
from minidns.checkzone import check_zone, default_origin
from minidns.zone import ZoneError, load_master_file, name_key
from minidns.zone.checks import ZoneReport
from tests.conftest import require_programs
from tests.minidns.corpus import MIXED_WILDCARD_A
from tests.minidns.test_pdns_sqlite import SOA, make_database

CORPUS_ZONES = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpora"
CORPUS_ZONES = CORPUS_ZONES / "pdns-regression" / "zones"

HEAD = """$ORIGIN example.com.
$TTL 3600
@    IN SOA ns1 hostmaster 1 3600 600 86400 300
@    IN NS  ns1
ns1  IN A   192.0.2.53
"""  # five lines: a record added after it is on line 6

# A record that breaks a rule, the line the error names, and what it says.
REFUSED = {
    "cname-and-other-data": (
        "www IN CNAME ns1\nwww IN A 192.0.2.1\n",
        6,
        "www.example.com.: CNAME and other data (A) (RFC 1034 §3.6.2, RFC 2181 §10.1)",
    ),
    "other-data-then-cname": (
        "www IN MX 10 ns1\nwww IN A 192.0.2.1\nwww IN CNAME ns1\n",
        8,
        "www.example.com.: CNAME and other data (A, MX)",
    ),
    "two-cnames": (
        "www IN CNAME ns1\nwww IN CNAME mail\n",
        7,
        "www.example.com.: more than one CNAME (RFC 2181 §10.1)",
    ),
    "cname-at-the-apex": (
        "@ IN CNAME ns1\n",
        6,
        "example.com.: a CNAME at the zone apex, which has SOA and NS",
    ),
    "two-dnames": (
        "old IN DNAME new.example.\nold IN DNAME other.example.\n",
        7,
        "old.example.com.: more than one DNAME (RFC 6672 §2.4)",
    ),
    "rdata-over-65535-octets": (
        "big IN TXT " + " ".join([f'"{"y" * 250}"'] * 270) + "\n",
        6,
        "TXT rdata is 67,770 octets, over the 65,535 its 16-bit length can say",
    ),
    "string-over-255-octets": (
        f'long IN TXT "{"x" * 256}"\n',
        6,
        "character-string longer than 255 octets",
    ),
}


def write(tmp_path: Path, text: str, name: str = "example.com.zone") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("case", REFUSED)
def test_a_zone_breaking_a_rule_is_refused_with_file_and_line(tmp_path: Path, case: str):
    records, line, reason = REFUSED[case]
    path = write(tmp_path, HEAD + records)
    with pytest.raises(ZoneError) as raised:
        load_master_file(path, "example.com")
    assert (raised.value.path, raised.value.line) == (str(path), line)
    assert reason in raised.value.reason


def test_a_cname_may_have_its_rrsig_and_nsec_and_be_written_twice(tmp_path: Path):
    path = write(
        tmp_path,
        HEAD
        + "www IN CNAME ns1\n"
        + "www IN CNAME ns1.example.com.\n"  # the same record twice: one (RFC 2181 §5)
        + "www IN RRSIG CNAME 8 3 3600 20300101000000 20200101000000 1234 example.com. AAAA\n"
        + "www IN NSEC z.example.com. CNAME RRSIG NSEC\n",
    )
    zone = load_master_file(path, "example.com")
    assert set(zone.node(name_key("www.example.com")) or {}) == {
        QTYPE.CNAME,
        QTYPE.RRSIG,
        QTYPE.NSEC,
    }


def test_a_database_with_cname_and_other_data_is_refused_with_its_row(tmp_path: Path):
    database = make_database(
        tmp_path / "db",
        [SOA, ("www.example.com", "A", "192.0.2.1"), ("www.example.com", "CNAME", "example.com")],
    )
    with pytest.raises(ZoneError, match=r"db:3: www.example.com.: CNAME and other data \(A\)"):
        minidns.zone.load_pdns_sqlite(database)


# Targets without their trailing dot ---------------------------------------------------------


def test_a_target_without_its_trailing_dot_loads_with_a_warning_naming_file_and_line(
    tmp_path: Path,
):
    head = HEAD.replace("example.com.", "example.org.")
    path = write(tmp_path, head + "@ IN MX 25 mail.example.org\n", "example.org.zone")
    report = ZoneReport()
    zone = load_master_file(path, "example.org", report)
    mx = zone.get(name_key("example.org"), QTYPE.MX)
    assert mx is not None and str(mx.rdatas[0].label) == "mail.example.org.example.org."
    (warning,) = report.warnings
    assert str(warning) == (
        f"{path}:6: MX target mail.example.org has no trailing dot, so it reads as "
        "mail.example.org.example.org., which owns nothing here; write mail.example.org. if "
        "that was meant"
    )


@pytest.mark.parametrize(
    "records",
    [
        "www IN CNAME host.sub\nhost.sub IN A 192.0.2.9\n",  # exists
        "www IN CNAME a.b.wild\n*.wild IN A 192.0.2.9\n",  # a wildcard answers for it
        "www IN CNAME host.france\nfrance IN NS ns1.elsewhere.net.\n",  # delegated
        "www IN CNAME host\n",  # one label: meant to be relative
        "www IN CNAME host.elsewhere.net.\n",  # absolute
    ],
)
def test_no_warning_for_targets_that_are_relative_on_purpose(tmp_path: Path, records: str):
    report = ZoneReport()
    load_master_file(write(tmp_path, HEAD + records), "example.com", report)
    assert report.warnings == []


# Files: what $INCLUDE reads ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("/dev/zero", "not a regular file"),  # was read until memory ran out
        ("subdir", "not a regular file"),
        ("nowhere.inc", "No such file or directory"),
    ],
)
def test_include_of_what_is_not_a_regular_file_is_refused(tmp_path: Path, target: str, reason: str):
    (tmp_path / "subdir").mkdir()
    path = write(tmp_path, HEAD + f"$INCLUDE {target}\n")
    with pytest.raises(
        ZoneError, match=rf"example.com.zone:6: cannot \$INCLUDE {target}: {reason}"
    ):
        load_master_file(path, "example.com")


def test_include_of_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path):
    os.mkfifo(tmp_path / "fifo")  # start-up used to hang here, with no log line
    path = write(tmp_path, HEAD + "$INCLUDE fifo\n")
    outcome: list[BaseException] = []

    def load() -> None:
        try:
            load_master_file(path, "example.com")
        except ZoneError as error:
            outcome.append(error)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(timeout=10)
    if thread.is_alive():  # let the reader go: open the FIFO for writing once
        os.close(os.open(tmp_path / "fifo", os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("loading waits on the FIFO")
    (error,) = outcome
    assert "cannot $INCLUDE fifo: not a regular file" in str(error)


def test_files_over_the_size_limit_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    main = HEAD + "$INCLUDE part.inc\n$INCLUDE part.inc\n"
    monkeypatch.setattr(minidns.zone.masterfile, "MAX_FILE_OCTETS", len(main) + 100)
    write(tmp_path, "a IN A 192.0.2.1\n" * 4, "part.inc")  # 68 octets each time
    path = write(tmp_path, main)
    with pytest.raises(ZoneError, match=r"zone:7: the zone's files together are over"):
        load_master_file(path, "example.com")
    write(tmp_path, HEAD + "x" * 200, "big.zone")
    with pytest.raises(ZoneError, match=r"big.zone: cannot read the zone file: over 2"):
        load_master_file(tmp_path / "big.zone", "example.com")


# check-zone -----------------------------------------------------------------------------------


def test_check_zone_lists_every_error_and_warning_by_line_and_fails(tmp_path: Path):
    path = write(
        tmp_path,
        HEAD
        + "www IN CNAME ns1\n"  # 6
        + "www IN A 192.0.2.1\n"  # 7
        + "bad IN A 999.0.0.1\n"  # 8
        + "@ IN MX 10 mail.example.org\n"  # 9
        + f'long IN TXT "{"x" * 300}"\n',  # 10
    )
    result = subprocess.run(
        [sys.executable, "-m", "minidns", "check-zone", str(path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{path}:6: error: www.example.com.: CNAME and other data (A) "
        "(RFC 1034 §3.6.2, RFC 2181 §10.1)",
        f"{path}:8: error: bad IPv4 address '999.0.0.1'",
        f"{path}:9: warning: MX target mail.example.org has no trailing dot, so it reads as "
        "mail.example.org.example.com., which owns nothing here; write mail.example.org. if "
        "that was meant",
        f"{path}:10: error: character-string longer than 255 octets",
        "zone example.com.: 6 records, 3 errors, 1 warning",
    ]


def test_check_zone_of_a_good_zone_says_so_and_succeeds(tmp_path: Path):
    path = write(tmp_path, HEAD, "db.example.com")
    assert default_origin(path) == "example.com."
    report, summary = check_zone(path, "example.com")
    assert (report.errors, report.warnings) == ([], [])
    assert summary == "zone example.com.: 3 records, 0 errors, 0 warnings"
    (tmp_path / "example.net.zone").write_text(HEAD.replace("$ORIGIN example.com.\n", ""))
    assert default_origin(tmp_path / "example.net.zone") == "example.net"


def test_check_zone_of_a_file_that_cannot_be_read(tmp_path: Path):
    report, summary = check_zone(tmp_path / "none.zone", "example.com")
    assert [error.reason for error in report.errors] == [
        "cannot read the zone file: No such file or directory"
    ]
    assert summary == "zone example.com: not loaded"


# The same verdicts as named-checkzone and pdnsutil check-zone ----------------------------------


@pytest.mark.interop
@pytest.mark.parametrize("case", REFUSED)
def test_named_checkzone_refuses_what_minidns_refuses(tmp_path: Path, case: str):
    require_programs("named-checkzone")
    path = write(tmp_path, HEAD + REFUSED[case][0])
    result = subprocess.run(
        ["named-checkzone", "example.com", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1, result.stdout
    assert check_zone(path, "example.com")[0].errors


@pytest.mark.interop
@pytest.mark.parametrize(
    "case", ["cname-and-other-data", "other-data-then-cname", "two-cnames", "cname-at-the-apex"]
)
def test_pdnsutil_check_zone_finds_the_same_cname_errors(tmp_path: Path, case: str):
    require_programs("pdnsutil")
    path = write(tmp_path, HEAD + REFUSED[case][0])
    (tmp_path / "named.conf").write_text(f'zone "example.com" {{ type master; file "{path}"; }};\n')
    (tmp_path / "pdns.conf").write_text(f"launch=bind\nbind-config={tmp_path / 'named.conf'}\n")
    result = subprocess.run(
        ["pdnsutil", f"--config-dir={tmp_path}", "check-zone", "example.com"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert re.search(
        r"\[Error\] (CNAME .* found, but other records|Duplicate CNAME)", result.stdout
    )


@pytest.mark.interop
@pytest.mark.parametrize(
    ("file", "origin", "line"),
    [("example.com", "example.com", 86), ("test.com", "test.com", 36)],
)
def test_the_corpus_records_minidns_refuses_named_checkzone_refuses_too(
    file: str, origin: str, line: int
):
    """The wildcard with a CNAME and an A, and the 340-octet TXT string: the comparisons with
    PowerDNS give both servers copies without them (tests/minidns/corpus.py)."""
    require_programs("named-checkzone")
    path = CORPUS_ZONES / file
    if file == "example.com":
        assert MIXED_WILDCARD_A.search(path.read_text())
    errors = check_zone(path, origin)[0].errors
    assert [error.line for error in errors] == [line]
    result = subprocess.run(
        ["named-checkzone", origin, str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1, result.stdout
