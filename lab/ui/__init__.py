"""`python -m lab ui`: a live web page of a running lab.

layout.py     where each node of any topology is drawn (stress majorization, pure)
probes.py     DNS probes from the clients: a sans-I/O core and its asyncio shell
view.py       what the page shows, from what was observed (sans-I/O)
actions.py    the lab's actions the page offers, checked against what the page shows
namespace.py  sockets opened inside a node's namespace; its links as netlink reports them
vty.py        FRR's daemons asked directly on their vty sockets (no vtysh process)
collect.py    the loops that observe the lab and feed the view
server.py     the aiohttp application: the page, its event stream, the guarded actions
static/       the page itself: plain HTML, CSS, JavaScript and SVG, no build step
"""
