"""The lab on real machines: Vagrant (VirtualBox or libvirt) and the seed's checks in them.

    machines.py    the Vagrantfile's input (machines.json), from the topology
    provision.py   one machine's provisioning, a shell script rendered from the topology
    box.py         `make vagrant-box`: a Debian 12 box for libvirt, built offline
    libvirt.py     the host side of libvirt: its daemons, and undoing what it changed
    check.py       `make vagrant-check`: six machines up, the seed's scenarios, all destroyed

`python3 -m lab.vagrant provision NODE` runs inside each machine with Debian 12's python3, so
provision.py and what it imports use only the standard library.
"""
