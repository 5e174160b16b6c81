"""Health checks that decide whether an anycast prefix is announced.

`state` is the sans-I/O rise/fall logic per check and the all-must-pass rule per prefix;
`checks` defines the checks and their probes; `watch` the watchers that see a failure at once;
`runner` runs it all in asyncio (`HealthMonitor`); `config` reads the `[[check]]` tables.
"""
