"""Adj-RIB-In: the routes one peer has sent us (RFC 4271 §3.2), with shared attribute sets."""

from __future__ import annotations

import weakref
from collections.abc import Iterator

from minibgp.wire.attributes import AttributeSet
from minibgp.wire.messages import Update
from minibgp.wire.nlri import Family, Prefix, key_to_prefix, prefix_afi, prefix_to_key


class AdjRibIn:
    """Prefix → path attributes, per address family, as received from one peer.

    Prefixes are stored as their wire keys and shown as ipaddress networks; every distinct
    attribute set is stored once and shared by all its prefixes, which is what lets a full
    Internet table fit in memory.
    """

    def __init__(self) -> None:
        self._tables: dict[Family, dict[bytes, AttributeSet]] = {}
        # Keyed by the sets' wire octets; an entry goes when no route uses its set any more.
        self._interned: weakref.WeakValueDictionary[object, AttributeSet] = (
            weakref.WeakValueDictionary()
        )

    def _intern(self, attribute_set: AttributeSet) -> AttributeSet:
        existing = self._interned.get(attribute_set.key)
        if existing is None:
            self._interned[attribute_set.key] = attribute_set
            return attribute_set
        return existing

    def apply(self, update: Update) -> tuple[int, int]:
        """Apply an UPDATE: store its routes and remove its withdrawn ones.

        A treat-as-withdraw UPDATE (RFC 7606 §2) only removes. Returns the number of prefixes
        the UPDATE announced and withdrew.
        """
        announced = withdrawn = 0
        # Withdrawals first: a prefix both withdrawn and announced in one UPDATE is treated as
        # announced (RFC 4271 §4.3).
        for family, keys in update.withdrawn_groups():
            table = self._tables.get(family)
            withdrawn += len(keys)
            if table:
                for key in keys:
                    table.pop(key, None)
        for family, keys, attribute_set in update.announced_groups():
            table = self._tables.setdefault(family, {})
            table.update(dict.fromkeys(keys, self._intern(attribute_set)))
            announced += len(keys)
        return announced, withdrawn

    def __len__(self) -> int:
        return sum(len(table) for table in self._tables.values())

    def count(self, family: Family) -> int:
        """Number of prefixes of one family."""
        return len(self._tables.get(family, ()))

    def families(self) -> list[Family]:
        """Families with at least one route."""
        return [family for family, table in self._tables.items() if table]

    def get(self, prefix: Prefix, family: Family | None = None) -> AttributeSet | None:
        """The attributes of `prefix` (unicast unless `family` says otherwise), or None."""
        afi = prefix_afi(prefix)
        table = self._tables.get(family or (afi, 1))
        return table.get(prefix_to_key(prefix)) if table else None

    def routes(self, family: Family | None = None) -> Iterator[tuple[Prefix, AttributeSet]]:
        """(prefix, attributes) of every route, or of one family's."""
        for table_family, table in self._tables.items():
            if family is not None and table_family != family:
                continue
            afi = table_family[0]
            for key, attribute_set in table.items():
                yield key_to_prefix(key, afi), attribute_set

    def keys(self, family: Family) -> list[bytes]:
        """The prefix keys of one family as they are now: a snapshot, to be read a part at a
        time while UPDATEs go on changing the table (`attributes_of` says what is left)."""
        return list(self._tables.get(family, ()))

    def attributes_of(self, family: Family, key: bytes) -> AttributeSet | None:
        """The attributes of the prefix with this key, or None (not, or no longer, held)."""
        table = self._tables.get(family)
        return table.get(key) if table else None

    def attribute_sets(self) -> int:
        """Number of distinct attribute sets in use."""
        return len({id(s) for table in self._tables.values() for s in table.values()})

    def clear(self) -> None:
        """Forget every route (the session went down)."""
        self._tables.clear()
