"""The benchmark's feed (bench/bgp_table.py) is what it claims, read back with minibgp's codec."""

from __future__ import annotations

from collections import Counter

from bench.bgp_table import PREFIX_LENGTH_MIX, end_of_rib, make_feed
from minibgp.adj_rib_in import AdjRibIn
from minibgp.wire.context import CodecContext
from minibgp.wire.header import MessageReader
from minibgp.wire.messages import Update, decode_message


def test_the_feed_decodes_to_distinct_prefixes_with_the_promised_shape() -> None:
    feed = make_feed(prefix_count=20_000, per_update=100, attribute_set_count=150)
    reader = MessageReader()
    reader.feed(feed.messages + end_of_rib())
    codec = CodecContext(four_octet_as=True)
    rib = AdjRibIn()
    updates = 0
    while (cut := reader.next_message()) is not None:
        update = decode_message(*cut, codec)
        assert isinstance(update, Update) and not update.treat_as_withdraw
        rib.apply(update)
        updates += 1
    assert updates == feed.update_count + 1 == 201  # and the End-of-RIB
    assert len(rib) == feed.prefix_count == 20_000
    assert rib.attribute_sets() == 150
    routes = list(rib.routes())
    assert all(attributes.as_path.segments[0].asns[0] == 65001 for _, attributes in routes)
    lengths = Counter(prefix.prefixlen for prefix, _ in routes)
    assert 0.55 < lengths[24] / len(routes) < 0.65  # mostly /24, as configured (60 %)
    assert set(lengths) <= set(PREFIX_LENGTH_MIX)


def test_the_feed_is_deterministic() -> None:
    assert make_feed(1000, 100, 10).messages == make_feed(1000, 100, 10).messages
