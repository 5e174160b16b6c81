"""Config files that cannot be used: each a one-line ``FILE:LINE: KEY: REASON``, never a
traceback, whatever the file holds (bytes that are not UTF-8, nesting deep enough to exhaust
tomllib's recursion, a directory, a FIFO, a device, a huge file)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from minibgp import config_file
from minibgp.cli import main
from minibgp.config import ConfigError, load_config, parse_config
from minibgp.config_file import MAX_CONFIG_SIZE, key_lines, line_of

GOOD = b"""\
[speaker]
asn = 64520
router_id = "192.168.57.100"

[[peer]]
address = "192.168.57.10"
asn = 4290001234

[[announce]]
prefix = "169.254.0.1/32"
"""


def refused(path: Path) -> str:
    """The message load_config refuses `path` with (it must not raise anything else)."""
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message and len(message) < 400
    return message


def written(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "server1.toml"
    path.write_bytes(data)
    return path


def test_a_byte_that_is_not_utf8_is_named_with_its_line_and_column(tmp_path: Path) -> None:
    # A description saved as Latin-1 ("Café" with é as the single byte 0xe9).
    path = written(tmp_path, GOOD.replace(b"asn = 4290001234", b'description = "Caf\xe9 AS"'))
    assert refused(path) == (f"{path}:7: not UTF-8: byte 0xe9 at column 19 (a TOML file is UTF-8)")


def test_deeply_nested_arrays_are_refused_before_tomllib_recurses(tmp_path: Path) -> None:
    nested = b"[" * 2000 + b"]" * 2000  # tomllib alone raises RecursionError
    path = written(tmp_path, GOOD.replace(b"asn = 4290001234", b"asn = " + nested))
    assert refused(path) == (
        f"{path}:7: invalid TOML: arrays or inline tables nested more than 32 deep"
    )


def test_deeply_nested_inline_tables_too(tmp_path: Path) -> None:
    nested = b"{a = " * 2000 + b"1" + b"}" * 2000
    path = written(tmp_path, GOOD + b"bfd = " + nested + b"\n")
    assert refused(path).startswith(f"{path}:11: invalid TOML: arrays or inline tables nested")


def test_nesting_a_config_may_have_is_accepted() -> None:
    text = GOOD.decode() + 'communities = [ "65000:1", # one\n "no-export" ]\n'
    config = parse_config(text, Path("x.toml"))
    assert len(config.announcements[0].communities) == 2


def test_a_directory_is_not_a_config(tmp_path: Path) -> None:
    assert refused(tmp_path) == f"{tmp_path}: is a directory, not a config file"


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "server1.toml"
    os.mkfifo(path)
    messages: list[str] = []
    reader = threading.Thread(target=lambda: messages.append(refused(path)), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert messages == [f"{path}: not a regular file"]


def test_a_device_is_not_read_forever() -> None:
    assert refused(Path("/dev/zero")) == "/dev/zero: not a regular file"


def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    path = written(tmp_path, GOOD + b"#" * MAX_CONFIG_SIZE)
    assert refused(path) == f"{path}: larger than 1 MiB; is it the config?"


def test_an_unreadable_file_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = written(tmp_path, GOOD)

    def denied(*args: object) -> int:  # root reads a file of mode 000: the kernel's answer
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(config_file.os, "open", denied)
    assert refused(path) == f"{path}: cannot read: Permission denied"


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    assert (
        refused(tmp_path / "nope.toml")
        == f"{tmp_path}/nope.toml: cannot read: No such file or directory"
    )


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    assert load_config(written(tmp_path, b"\xef\xbb\xbf" + GOOD)).speaker.asn == 64520


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (GOOD.replace(b"asn = 64520", b"asn = 64520 64521"),
         "2: invalid TOML: Expected newline or end of document after a statement at column 13"),
        (GOOD + b'[[peer]]\naddress = "192.168.57.11"\nasn = [1,\n',
         "13: invalid TOML: Invalid value at the end of the file"),
        (GOOD.replace(b"[[announce]]", b"[[announce]"), "9: invalid TOML: "),
    ],
)  # fmt: skip
def test_toml_syntax_errors_carry_their_line(tmp_path: Path, data: bytes, message: str) -> None:
    path = written(tmp_path, data)
    assert refused(path).startswith(f"{path}:{message}")


SECOND_PEER = """
[[peer]]
address = "fd00:57::10"   # the router's IPv6 address
asn = 4290001234
bfd = { min_tx = 100 }
ttl_security = 3
"""
ANNOUNCE = (
    '[[announce]]\nprefix = "10.0.0.0/8"\ncommunities = [\n  "65000:1",\n  "65000:99999",\n]\n'
)
CHECK = '[[check]]\nname = "dns"\nkind = "dns"\ntarget = "x"\n'


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        # the second [[peer]] table (line 12), the key within it
        ("ttl_security = 3", "ttl_security = 300", "16: peer[1].ttl_security: must be 1..254"),
        ("min_tx = 100", "min_tx = 100, min_rx = 0", "15: peer[1].bfd.min_rx: must be 1.."),
        ("asn = 4290001234\nbfd", "bfd", "12: peer[1].asn: missing"),
        # an element of a multi-line array
        ("ttl_security = 3\n", f"ttl_security = 3\n{ANNOUNCE}",
         "21: announce[1].communities[1]: '65000:99999'"),
        # a health check
        ("ttl_security = 3\n", f"ttl_security = 3\n{CHECK}",
         "20: check[0].target: must be ADDRESS:PORT"),
    ],
)  # fmt: skip
def test_semantic_errors_point_at_the_line_of_their_key(
    replace: str, by: str, message: str
) -> None:
    text = (GOOD.decode() + SECOND_PEER).replace(replace, by)
    with pytest.raises(ConfigError) as info:
        parse_config(text, Path("server1.toml"))
    assert str(info.value).startswith(f"server1.toml:{message}")


def test_a_huge_or_odd_value_still_makes_one_short_line() -> None:
    numbers = ", ".join(str(n) for n in range(100_000))
    for text in (
        GOOD.decode().replace("asn = 64520", f"asn = [{numbers}]"),
        GOOD.decode().replace("asn = 64520", f'asn = "{"9" * 100_000}"'),
        GOOD.decode().replace("[speaker]", '[speaker]\n"router\\nid" = 1'),
    ):
        with pytest.raises(ConfigError) as info:
            parse_config(text, Path("x.toml"))
        assert "\n" not in str(info.value) and len(str(info.value)) < 400, str(info.value)[:500]


def test_a_reload_that_changes_the_speaker_points_at_its_table(tmp_path: Path) -> None:
    path = written(tmp_path, GOOD)
    running = load_config(path)
    path.write_bytes(GOOD.replace(b"asn = 64520", b"asn = 64521"))
    with pytest.raises(ConfigError) as info:
        load_config(path, replacing=running)
    assert str(info.value) == (
        f"{path}:1: speaker: changes to [speaker] need a restart (except drain_time, "
        "drain_on_sigterm)"
    )


def test_check_prints_the_one_line_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = written(tmp_path, GOOD.replace(b"64520", b"\xff64520"))
    assert main(["check", "--config", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"{path}:2: not UTF-8: byte 0xff at column 7 (a TOML file is UTF-8)\n"
    assert captured.out == ""


def test_key_lines_skip_strings_comments_and_find_every_form() -> None:
    text = (
        '# [[peer]] in a comment\n[speaker]\nasn = 1\n'
        'description = """\n[[peer]]\nasn = 2\n"""\n'
        "[[peer]]\naddress = 'x' # [[peer]]\nbfd.min_tx = 5\n"
        "[peer.bfd]\nmultiplier = 3\n"
        'peer2 = [\n  { asn = 1 },\n  { asn = 2 },\n]\n'
    )  # fmt: skip
    lines = key_lines(text)
    assert lines["speaker.asn"] == 3 and lines["peer[0]"] == 8 and "peer[1]" not in lines
    assert lines["peer[0].address"] == 9 and lines["peer[0].bfd.min_tx"] == 10
    assert lines["peer[0].bfd.multiplier"] == 12 and lines["peer[0].bfd.peer2[1]"] == 15
    assert line_of(lines, "peer[0].bfd.peer2[1].asn") == 15  # inline tables are on one line
    assert line_of(lines, "nowhere.at.all") is None
