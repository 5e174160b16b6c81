"""The one thing pyproject.toml cannot yet say without an experimental table: the C extension.

minidns._udpbatch (recvmmsg/sendmmsg) is optional: when it cannot be built, the install goes on
and minidns moves one UDP datagram per system call (docs/minidns.md).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("minidns._udpbatch", ["minidns/_udpbatch.c"], optional=True)])
