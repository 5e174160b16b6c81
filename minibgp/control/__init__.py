"""The control socket: how `python -m minibgp show|announce|withdraw|restore|drain|undrain` (and
scripts, and the lab) talk to a running speaker, over a unix socket only its owner may open.

One request per connection: the client writes one JSON object on one line, e.g.
``{"command": "show routes", "peer": "192.168.57.10"}``; the speaker answers with one JSON
line and closes, or, for `drain`, with a line per step (the last one `"final": true`). An answer
with an `"error"` key is a refusal, said in words.

- `server`: the socket in the speaker;
- `commands`: what each request means, and the checks on it;
- `views`: neighbors and routes as JSON;
- `text`: the same as text, laid out the way vtysh shows FRR's;
- `client`: `request()` and `request_steps()`, used by the command line; `show_routes()`,
  `announce()`, `withdraw()` and `restore()` for scripts.
"""

from minibgp.control.client import (
    AnnounceArguments,
    ControlError,
    announce,
    request,
    request_steps,
    restore,
    show_routes,
    withdraw,
)

__all__ = [
    "AnnounceArguments",
    "ControlError",
    "announce",
    "request",
    "request_steps",
    "restore",
    "show_routes",
    "withdraw",
]
