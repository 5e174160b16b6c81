"""`lab te`'s actions: parsed from the command line, applied to what a site announces, described."""

from __future__ import annotations

import pytest

from lab.te.action import SiteAnnouncement, TeAction, TeError, apply
from lab.topology import Announcement

PLAIN = Announcement()
LOCAL = Announcement(scope="local")


def parse(text: str) -> TeAction:
    return TeAction.parse(text.split())


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("prepend 2", TeAction("prepend", 2)),
        ("prepend 0", TeAction("prepend", 0)),
        ("med 50", TeAction("med", 50)),
        ("med none", TeAction("med", None)),
        ("med 4294967295", TeAction("med", 2**32 - 1)),
        ("community no-export", TeAction("community", "no-export")),
        ("community NO-EXPORT", TeAction("community", "no-export")),
        ("community 64500:007", TeAction("community", "64500:7")),
        ("no-community 65535:0", TeAction("no-community", "65535:0")),
        ("withdraw", TeAction("withdraw")),
        ("announce", TeAction("announce")),
        ("restore", TeAction("restore")),
    ],
)
def test_actions_are_parsed_and_print_as_typed(text: str, action: TeAction) -> None:
    assert parse(text) == action
    assert str(action) == text.lower().replace(":007", ":7")


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ([], "give an action: prepend, med, community"),
        (["shout"], "no action 'shout'"),
        (["prepend"], "prepend takes one value: N, 0 to 32"),
        (["prepend", "33"], "prepend: '33' is not N, 0 to 32"),
        (["prepend", "-1"], "prepend: '-1' is not N, 0 to 32"),
        (["prepend", "two"], "prepend: 'two' is not N"),
        (["med", "4294967296"], "med: '4294967296' is not N, 0 to 4294967295, or none"),
        (["community", "65536:1"], "community '65536:1' is not ASN:VALUE or no-export"),
        (["community", "no-exports"], "community 'no-exports' is not"),
        (["community", "a", "b"], "community takes one value"),
        (["withdraw", "now"], "withdraw takes no value, not 'now'"),
    ],
)
def test_bad_actions_say_what_is_wrong(words: list[str], message: str) -> None:
    with pytest.raises(TeError, match="^" + message.replace("(", r"\(")):
        TeAction.parse(words)


def test_prepend_and_med_replace_what_was_there_and_zero_or_none_undoes_them() -> None:
    now = SiteAnnouncement(PLAIN)
    now = apply(parse("prepend 3"), now, PLAIN)
    now = apply(parse("med 10"), now, PLAIN)
    now = apply(parse("prepend 1"), now, PLAIN)
    assert now == SiteAnnouncement(Announcement(prepend=1, med=10))
    assert now.describe() == "prepend 1, MED 10"
    now = apply(parse("prepend 0"), apply(parse("med none"), now, PLAIN), PLAIN)
    assert now == SiteAnnouncement(PLAIN)
    assert now.describe() == "no prepend, MED or community"


def test_no_export_makes_a_local_node_and_removing_it_a_global_one() -> None:
    local = apply(parse("community no-export"), SiteAnnouncement(PLAIN), PLAIN)
    assert local.announcement.all_communities() == ("no-export",)
    assert local.describe() == "communities no-export (a local node)"
    assert apply(parse("community no-export"), local, PLAIN) == local  # once is enough
    assert apply(parse("no-community no-export"), local, PLAIN) == SiteAnnouncement(PLAIN)
    # a site that is local in its topology file goes global too
    configured = SiteAnnouncement(LOCAL)
    went_global = apply(parse("no-community no-export"), configured, LOCAL)
    assert went_global.announcement.scope == "global"
    assert went_global.announcement.all_communities() == ()
    assert apply(parse("restore"), went_global, LOCAL) == configured


def test_communities_are_added_in_order_and_removed_one_by_one() -> None:
    now = SiteAnnouncement(Announcement(communities=("64500:1",)))
    now = apply(parse("community 64500:2"), now, PLAIN)
    now = apply(parse("community no-export"), now, PLAIN)
    assert now.announcement.communities == ("64500:1", "64500:2", "no-export")
    now = apply(parse("no-community 64500:1"), now, PLAIN)
    assert now.announcement.communities == ("64500:2", "no-export")
    with pytest.raises(TeError, match=r"does not announce 64500:1 \(it has: 64500:2 no-export\)"):
        apply(parse("no-community 64500:1"), now, PLAIN)


def test_withdraw_keeps_the_attributes_for_announce_and_restore_forgets_them() -> None:
    configured = Announcement(med=5)
    now = apply(parse("prepend 2"), SiteAnnouncement(configured), configured)
    gone = apply(parse("withdraw"), now, configured)
    assert gone.withdrawn and gone.announcement == now.announcement
    assert gone.describe() == "withdrawn (when announced: prepend 2, MED 5)"
    assert apply(parse("prepend 4"), gone, configured).withdrawn  # changed while withdrawn
    assert apply(parse("announce"), gone, configured) == now
    assert apply(parse("restore"), gone, configured) == SiteAnnouncement(configured)
