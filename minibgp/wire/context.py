"""What the codec needs to know about a session: what was negotiated in the OPEN exchange."""

from __future__ import annotations

from dataclasses import dataclass, field

from minibgp.wire.nlri import Family, IPAddress


@dataclass
class CodecContext:
    """Per-session encoding rules.

    `four_octet_as`: both sides advertised the 4-octet AS capability (RFC 6793), so AS_PATH and
    AGGREGATOR carry 4-octet AS numbers; otherwise they carry 2-octet numbers, AS_TRANS stands in
    for larger ones and AS4_PATH / AS4_AGGREGATOR carry the real numbers (RFC 6793 §4.2).
    Set it once, after the OPEN exchange and before the first UPDATE.

    `local_as` / `peer_as`: the two ASes of the session, when known. They enable the checks that
    depend on the peer being external (different AS) or internal: from an external peer the
    leftmost AS of AS_PATH must be the peer's (RFC 4271 §6.3) and LOCAL_PREF is discarded
    (RFC 7606 §7.5); from an internal peer LOCAL_PREF is mandatory (RFC 4271 §5.1.5).

    `local_address`: our end of the session, when known: a route whose next hop it is cannot
    be used (RFC 4271 §6.3). `families`: the address families both OPENs advertised; routes of
    others are ignored (RFC 4760 §8). None: every family (as `decode` reads a message).

    `attribute_sets` remembers the path attribute sets already decoded on this session, keyed by
    their wire bytes, so each distinct set is decoded once and shared by all its routes.
    """

    four_octet_as: bool = True
    local_as: int | None = None
    peer_as: int | None = None
    local_address: IPAddress | None = None
    families: frozenset[Family] | None = None
    max_cached_attribute_sets: int = 50_000
    attribute_sets: dict[object, object] = field(default_factory=dict, repr=False)

    @property
    def external(self) -> bool | None:
        """The peer is in another AS (eBGP); None when the ASes are not known."""
        if self.local_as is None or self.peer_as is None:
            return None
        return self.local_as != self.peer_as

    def remember(self, key: object, attribute_set: object) -> None:
        """Cache a decoded attribute set (the cache is emptied when it grows too big)."""
        if len(self.attribute_sets) >= self.max_cached_attribute_sets:
            self.attribute_sets.clear()
        self.attribute_sets[key] = attribute_set
