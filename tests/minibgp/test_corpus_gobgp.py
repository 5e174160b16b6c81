"""GoBGP's malformed messages (../shared/corpora/gobgp-bad-len) are refused with a NOTIFICATION.

The files come from GoBGP's fuzzing corpus, whose markers are not all ones: as they are, each
must be refused for its Marker. With the Marker repaired, the faults in the rest of each message
must be found too. Either way the only exception allowed is BGPError (a NOTIFICATION).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from minibgp.describe import describe_message
from minibgp.wire import CodecContext, MessageReader, decode_message
from minibgp.wire.errors import BGPError, ErrorCode, HeaderErrorSubcode
from tests.conftest import require

GOBGP = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpora" / "gobgp-bad-len"


def _files() -> list[str]:
    if not GOBGP.is_dir():
        return ["(corpus missing)"]
    return sorted(p.name for p in GOBGP.iterdir() if p.name != "LICENSE")


def decode_stream(raw: bytes) -> None:
    """Decode every message in `raw` as a session would."""
    reader = MessageReader()
    reader.feed(raw)
    ctx = CodecContext()
    for msg_type, body in reader:
        decode_message(msg_type, body, ctx)


def _read(name: str) -> bytes:
    require(GOBGP.is_dir(), f"corpus missing: {GOBGP}")
    return (GOBGP / name).read_bytes()


def test_corpus_size() -> None:
    assert len(_files()) == 11


@pytest.mark.parametrize("name", _files())
def test_refused_for_the_marker(name: str) -> None:
    with pytest.raises(BGPError) as caught:
        decode_stream(_read(name))
    assert caught.value.code == ErrorCode.MESSAGE_HEADER_ERROR
    assert caught.value.subcode == HeaderErrorSubcode.CONNECTION_NOT_SYNCHRONIZED


@pytest.mark.parametrize("name", _files())
def test_refused_for_the_body(name: str) -> None:
    raw = b"\xff" * 16 + _read(name)[16:]
    with pytest.raises(BGPError) as caught:
        decode_stream(raw)
    # OPEN with a bad version, or an UPDATE whose NLRI is not a prefix list.
    assert (caught.value.code, caught.value.subcode) in {(2, 1), (3, 10)}
    assert "Error" in describe_message(raw)
