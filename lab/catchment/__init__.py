"""`python -m lab catchment`: which anycast site each client network of a running lab reaches.

model.py        the catchment map, the two methods compared, moves between two maps (pure)
verfploeter.py  the Verfploeter measurement: echo requests from the sites, replies matched (pure)
icmp.py         echo request and reply codec, and the socket filter for the replies (pure)
measure.py      the I/O: DNS from the clients, paths from the routers, raw sockets at the sites
settle.py       how long a catchment takes to settle after a change, from DNS snapshots
report.py       the text table
picture.py      the PNG: the topology, each client in its site's colour

For tools built on it:

    from lab.catchment import measure
    catchment = measure(Lab(name))             # DNS, Verfploeter and the routers' paths
    catchment.sites_of(4)                      # {client: site} over IPv4
    quick = measure(lab, verfploeter=False, paths=False, rounds=1, spacing=0)  # DNS alone, ms
    catchment.moves(quick)                     # the clients whose site changed

    t0 = time.monotonic(); ...make a change...
    settled = wait_until_settled(lab, snapshot(catchment), since=t0)
    settled.settle_time, settled.moved(), settled.changes
"""

from .measure import measure
from .model import Catchment, ClientCatchment, Move, Seen, SelectedPath, Target, moves

__all__ = [
    "Catchment",
    "ClientCatchment",
    "Move",
    "Seen",
    "SelectedPath",
    "Target",
    "measure",
    "moves",
]
