"""A large generated zone, and never-repeated queries against it, for the scale benchmark.

    python -m bench.big_zone --records 1000000 --out /tmp/big.zone

The zone (origin `scale.test.`) mixes what a big operator serves: hosts with A and AAAA, mail
names with MX, TXT, CNAMEs to other hosts, names two labels deep under groups that exist only
as empty non-terminals, wildcards, and delegations with glue. One record per line, relative
owners, most without a TTL (the `$TTL`), as zone files written by tools are. The same seed
gives the same zone.

The queries come in four kinds of names, each name asked once:

- existing: a name of the zone with the type it has (a CNAME's name asked for A, so that the
  CNAME is followed);
- wildcard: a random label under one of the wildcards;
- referral: a random label under one of the delegations;
- nxdomain: a random label under the apex or under a group.
"""

from __future__ import annotations

import argparse
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ORIGIN = "scale.test."
SERIAL = 2024010101
ALPHABET = string.ascii_lowercase + string.digits
KINDS = ("existing", "wildcard", "referral", "nxdomain")

# Shares of the records (the rest, about 4 %, are the wildcards' and delegations').
HOST_A = 0.40
HOST_AAAA = 0.14  # of the hosts that have an A, also an AAAA
MX = 0.08
TXT = 0.12
CNAME = 0.10
DEEP = 0.30  # of the hosts, names two labels deep (under a group, an empty non-terminal)
GROUPS = 1000
WILDCARD_SHARE = 0.01
DELEGATION_SHARE = 0.005  # each delegation is 4 records: 2 NS, 2 glue A


@dataclass
class BigZone:
    """What the generator made: the names of each kind, to build queries from."""

    records: int = 0
    existing: list[tuple[str, str]] = field(default_factory=list)  # (name, type)
    wildcards: list[str] = field(default_factory=list)  # the parents of the wildcards
    delegations: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)


def write_zone(path: Path, records: int, seed: int = 1, serial: int = SERIAL) -> BigZone:
    """Write a zone of about `records` records to `path`; what it holds, for the queries."""
    rng = random.Random(seed)
    made = BigZone(groups=[f"g{number}" for number in range(GROUPS)])
    with open(path, "w") as out:
        for line in _lines(rng, records, made, serial):
            out.write(line)
            made.records += line.count("\n") - line.count("$")
    return made


def _lines(rng: random.Random, records: int, made: BigZone, serial: int) -> Iterator[str]:
    yield f"$ORIGIN {ORIGIN}\n$TTL 3600\n"
    yield f"@ IN SOA ns1 hostmaster {serial} 3600 600 604800 300\n"
    yield "@ IN NS ns1\n@ IN NS ns2\n"
    yield "ns1 IN A 192.0.2.1\nns2 IN A 192.0.2.2\n"
    yield "@ IN MX 10 mail\nmail IN A 192.0.2.25\n"
    hosts: list[str] = []
    count = 7
    number = 0
    while count < records:
        number += 1
        roll = rng.random()
        if roll < WILDCARD_SHARE:
            parent = f"w{number}"
            made.wildcards.append(parent)
            yield f"*.{parent} IN A 198.51.{number % 256}.{number // 256 % 256}\n"
            count += 1
            continue
        if roll < WILDCARD_SHARE + DELEGATION_SHARE:
            child = f"d{number}"
            made.delegations.append(child)
            yield f"{child} IN NS ns1.{child}\n{child} IN NS ns2.{child}\n"
            yield f"ns1.{child} IN A 203.0.113.{number % 256}\n"
            yield f"ns2.{child} 86400 IN A 203.0.113.{(number + 1) % 256}\n"
            count += 4
            continue
        label = _word(rng) + str(number)
        name = f"{label}.{made.groups[number % GROUPS]}" if rng.random() < DEEP else label
        kind = rng.random() * (HOST_A + MX + TXT + CNAME)
        if kind < HOST_A:
            yield f"{name} IN A 10.{number >> 16 & 255}.{number >> 8 & 255}.{number & 255}\n"
            made.existing.append((name, "A"))
            count += 1
            if rng.random() < HOST_AAAA:
                yield f"{name} IN AAAA 2001:db8::{number >> 16:x}:{number & 0xFFFF:x}\n"
                made.existing.append((name, "AAAA"))
                count += 1
            hosts.append(name)
        elif kind < HOST_A + MX:
            target = rng.choice(hosts) if hosts else "mail"
            yield f"{name} IN MX 10 {target}\n"
            made.existing.append((name, "MX"))
            count += 1
        elif kind < HOST_A + MX + TXT:
            text = "".join(rng.choices(ALPHABET, k=rng.randint(8, 40)))
            yield f'{name} 300 IN TXT "v=spf1 include:{text} ~all"\n'
            made.existing.append((name, "TXT"))
            count += 1
        else:
            target = rng.choice(hosts) if hosts else "mail"
            yield f"{name} IN CNAME {target}\n"
            made.existing.append((name, "A"))
            count += 1


def _word(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 10)))


def queries(made: BigZone, kind: str, count: int, seed: str, start: int = 0) -> Iterator[str]:
    """`count` dnsperf lines (`name type`) of one kind; `seed` makes them differ between runs.

    Existing names come in one shuffled order, from position `start` on (wrapping around):
    runs that take successive slices ask for no name twice until the zone's names run out.
    """
    rng = random.Random(seed)
    if kind == "existing":
        order = list(range(len(made.existing)))
        random.Random(0).shuffle(order)
        for index in range(start, start + count):
            name, rtype = made.existing[order[index % len(order)]]
            yield f"{name}.{ORIGIN} {rtype}\n"
        return
    for number in range(count):
        label = f"{seed}{number}" + "".join(rng.choices(ALPHABET, k=6))
        if kind == "wildcard":
            yield f"{label}.{rng.choice(made.wildcards)}.{ORIGIN} A\n"
        elif kind == "referral":
            yield f"{label}.{rng.choice(made.delegations)}.{ORIGIN} A\n"
        elif kind == "nxdomain":
            parent = "" if number % 2 else rng.choice(made.groups) + "."
            yield f"{label}.{parent}{ORIGIN} A\n"
        else:
            raise ValueError(f"unknown kind {kind!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    made = write_zone(args.out, args.records, args.seed)
    print(f"{args.out}: {made.records} records, origin {ORIGIN}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
