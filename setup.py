"""What pyproject.toml cannot yet say without an experimental table: the C extension, and the
package list.

minidns._udpbatch (recvmmsg/sendmmsg) is optional: when it cannot be built, the install goes on
and minidns moves one UDP datagram per system call (docs/minidns.md).

The lab, `python -m lab` in a checkout, installs under the distribution's own name as
`anycast_lab` (the `anycast-lab` command): a top-level package named `lab` would be too generic to
put into an environment. Its modules import one another relatively, so both names work.
"""

from setuptools import Extension, find_namespace_packages, find_packages, setup

LAB = "anycast_lab"

setup(
    packages=[
        *find_packages(include=["minibgp", "minibgp.*", "minidns", "minidns.*"]),
        LAB,
        # its data folders (topologies, the page's files) too, as the packages they are to Python
        *(f"{LAB}.{name}" for name in find_namespace_packages("lab", exclude=["*__pycache__*"])),
    ],
    package_dir={LAB: "lab"},
    ext_modules=[Extension("minidns._udpbatch", ["minidns/_udpbatch.c"], optional=True)],
)
