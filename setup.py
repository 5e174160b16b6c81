"""What pyproject.toml cannot yet say without an experimental table: the C extension, and the
package list.

minidns._udpbatch (recvmmsg/sendmmsg) is optional: when it cannot be built, the install goes on
and minidns moves one UDP datagram per system call (docs/minidns.md).

The distribution holds the speaker and the DNS server; the lab (`python -m lab` in a checkout)
is not installed.
"""

from setuptools import Extension, find_packages, setup

setup(
    packages=find_packages(include=["minibgp", "minibgp.*", "minidns", "minidns.*"]),
    ext_modules=[Extension("minidns._udpbatch", ["minidns/_udpbatch.c"], optional=True)],
)
