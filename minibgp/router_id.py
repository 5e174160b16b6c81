"""The machine's own addresses: the default BGP Identifier, and whether an address is local.

Read with netifaces-plus (``import netifaces``), the maintained fork of netifaces.
"""

from __future__ import annotations

import ipaddress

import netifaces

from minibgp.wire.nlri import IPAddress, Prefix


def local_addresses() -> set[IPAddress]:
    """Every IPv4 and IPv6 address configured on a local interface (loopback included)."""
    found: set[IPAddress] = set()
    for interface in netifaces.interfaces():
        families = netifaces.ifaddresses(interface)
        for family in (netifaces.AF_INET, netifaces.AF_INET6):
            for entry in families.get(family, []):
                text = entry.get("addr", "").split("%", 1)[0]  # drop an IPv6 zone ("fe80::1%eth0")
                try:
                    found.add(ipaddress.ip_address(text))
                except ValueError:
                    continue
    return found


def default_router_id(addresses: set[IPAddress] | None = None) -> ipaddress.IPv4Address:
    """The highest IPv4 address of a local interface, outside 127.0.0.0/8.

    The BGP Identifier is a 4-octet unsigned integer that must be a valid host address (RFC 4271
    §4.2, §6.2); like common routers, take the highest one the machine has.
    """
    if addresses is None:
        addresses = local_addresses()
    candidates = [
        address
        for address in addresses
        if isinstance(address, ipaddress.IPv4Address)
        and not address.is_loopback
        and not address.is_unspecified
    ]
    if not candidates:
        raise LookupError("no IPv4 address on any interface: set speaker.router_id")
    return max(candidates)


def is_on_local_interface(prefix: Prefix, addresses: set[IPAddress] | None = None) -> bool:
    """Whether some local interface holds an address inside `prefix`.

    An anycast server that announces 169.254.0.1/32 without having 169.254.0.1 on an interface
    draws the traffic in and drops it: the classic blackhole.
    """
    if addresses is None:
        addresses = local_addresses()
    return any(address in prefix for address in addresses if address.version == prefix.version)
