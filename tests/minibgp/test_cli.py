"""`python -m minibgp`: the run form's errors, and the check, decode and show subcommands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from minibgp.cli import main

REPO = Path(__file__).resolve().parents[2]
KEEPALIVE = "ffffffffffffffffffffffffffffffff001304"
# An UPDATE announcing 169.254.0.1/32 from AS 64520 with next hop 192.168.57.100.
UPDATE = (
    "ffffffffffffffffffffffffffffffff 0030 02 0000 0014"
    "40010100 400206 0201 0000fc08 400304 c0a83964"
    "20 a9fe0001"
)
GOOD = '[speaker]\nasn = 64520\n\n[[peer]]\naddress = "192.168.57.10"\nasn = 4290001234\n' \
    'password = "x"\n\n[[announce]]\nprefix = "169.254.0.1/32"\n'  # fmt: skip


def test_decode_explains_a_keepalive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", KEEPALIVE]) == 0
    out = capsys.readouterr().out
    assert out.startswith("KEEPALIVE message, 19 octets")
    assert "RFC 4271 §4.1" in out


def test_decode_explains_an_update_with_4_octet_as_numbers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["decode", *UPDATE.split()]) == 0
    out = capsys.readouterr().out
    assert "UPDATE message" in out and "169.254.0.1/32" in out
    assert "AS_SEQUENCE, 1 AS: 64520" in out and "Value: 192.168.57.100" in out
    assert "Note:" not in out and "error" not in out.lower()


def test_decode_exits_1_when_the_message_calls_for_a_notification(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["decode", "ff" * 16 + "001d 01 03 fc08 005a c0000201 00"]) == 1
    assert "Answer: NOTIFICATION 2/1 OPEN Message Error" in capsys.readouterr().out
    assert main(["decode", "ff ff"]) == 1
    assert "21" not in capsys.readouterr().out  # the header's Length: the user gave no header


@pytest.mark.parametrize("text", ["zz", "0013 04 g", "", "  "])
def test_decode_refuses_text_that_is_not_a_message_in_hex(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["decode", text]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(("not hexadecimal:", "nothing to decode"))


def test_output_piped_into_a_reader_that_stops_early_is_no_traceback() -> None:
    """`python -m minibgp show routes | head -1`, `decode ... | head`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "minibgp", "decode", UPDATE],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before minibgp writes a line
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=30) == 1
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr


def test_check_prints_what_a_config_means(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "server1.toml"
    path.write_text(GOOD)
    assert main(["check", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "AS 64520, router id highest local IPv4 address" in out
    assert "peer 192.168.57.10 AS 4290001234 (TCP MD5)" in out
    assert "announce 169.254.0.1/32 to every peer" in out
    assert "drain: GRACEFUL_SHUTDOWN for 2 s, then withdraw; SIGTERM withdraws at once" in out


def test_check_refuses_a_bad_config_naming_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "server1.toml"
    path.write_text(GOOD.replace("asn = 4290001234", "asn = 4294967296"))
    assert main(["check", "--config", str(path)]) == 2
    assert capsys.readouterr().err == f"{path}:6: peer[0].asn: must be 1..4294967295\n"


def test_show_without_a_speaker_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "neighbors", "--socket", str(tmp_path / "none.sock")]) == 1
    assert "cannot reach the speaker" in capsys.readouterr().err


def test_the_speaker_refuses_a_bad_config_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "server1.toml"
    path.write_text(GOOD.replace("[[announce]]", "[[announce]]\nprefx = 1"))
    result = subprocess.run(
        [sys.executable, "-m", "minibgp", "--config", str(path)],
        capture_output=True, text=True, timeout=30, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 2
    assert f"{path}:10: announce[0].prefx: unknown key" in result.stderr


def test_the_config_option_is_required() -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
