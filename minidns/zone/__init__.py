"""Zone data: one model (:mod:`.model`) and its loaders.

- :func:`load_master_file` reads an RFC 1035 master file into a :class:`Zone`
  (:mod:`.masterfile`, with :mod:`.lexer`, :mod:`.text` and :mod:`.rdata`);
- :func:`load_pdns_sqlite` reads every zone of a PowerDNS gsqlite3 database into a
  :class:`ZoneSet` (:mod:`.pdns_sqlite`).

Both raise :class:`ZoneError`, whose text is ``path:line: reason``, and nothing else on bad input.
Both fill the zone through :class:`~minidns.zone.builder.ZoneBuilder` (duplicates dropped).
"""

from .errors import ZoneError
from .masterfile import load_master_file, parse_master_file
from .model import RRset, Zone, ZoneSet, name_key
from .pdns_sqlite import create_seed_database, load_pdns_sqlite

__all__ = [
    "RRset",
    "Zone",
    "ZoneError",
    "ZoneSet",
    "create_seed_database",
    "load_master_file",
    "load_pdns_sqlite",
    "name_key",
    "parse_master_file",
]
