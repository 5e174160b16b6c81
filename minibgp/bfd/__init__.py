"""BFD, Bidirectional Forwarding Detection (RFC 5880), single-hop over UDP (RFC 5881).

`packet` is the Control packet codec, `session` the sans-I/O session state machine, `endpoint`
the asyncio UDP shell that runs one session per peer, and `config` reads a peer's `bfd` setting.
"""
