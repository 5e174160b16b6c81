# make demo  -- install what the demo needs (Debian 12, as root), bring the lab up, run the seed's scenarios, tear down
# make test  -- install everything the tests need too and run the whole test suite (unit, interop with FRR/PowerDNS, lab)
# make vagrant-check -- the seed's checks on six libvirt VMs (the box built if missing), all destroyed
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
# What the demo runs: the lab's namespaces, FRR on the routers, PowerDNS (reference mode), dig,
# tcpdump, sqlite3 (PowerDNS's database is made as the seed made it); a C compiler for minidns's
# optional UDP batching extension.
DEMO_APT_PACKAGES := python3-venv python3-dev gcc iproute2 iputils-ping procps tcpdump \
	frr pdns-server pdns-backend-sqlite3 sqlite3 dnsutils
# What only the tests run: more peers and DNS tools to compare with, the benchmark's load
# generator, `vagrant validate`, a Debian root booted with systemd for the service units, a
# headless browser for `lab ui`'s page, and Prometheus to scrape the lab's servers.
TEST_APT_PACKAGES := pdns-backend-bind pdns-tools bird2 gobgpd knot-dnsutils bind9-utils dnsperf \
	vagrant vagrant-libvirt systemd-container debootstrap chromium chromium-driver prometheus
# What the lab's libvirt VMs need besides (`make vagrant-box`, `make vagrant-check`).
VAGRANT_APT_PACKAGES := vagrant vagrant-libvirt libvirt-daemon-system libvirt-clients \
	qemu-system-x86 qemu-utils dnsmasq-base iptables nftables debootstrap fdisk e2fsprogs

.PHONY: all deps deps-demo apt apt-demo venv venv-demo test unit lint demo bench clean \
	apt-vagrant vagrant-box vagrant-check
all: test

deps: apt venv
deps-demo: apt-demo venv-demo

# System packages: installed only when one is missing. A policy-rc.d keeps the packages' own
# services (frr, pdns) from starting in the machine's namespace while they install.
define apt_install
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		made_policy=; if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; rc=$$?; \
		[ -n "$$made_policy" ] && rm -f /usr/sbin/policy-rc.d; exit $$rc; \
	fi
endef

apt-demo:
	$(call apt_install,$(DEMO_APT_PACKAGES))
apt: apt-demo
	$(call apt_install,$(TEST_APT_PACKAGES))
	@# chromedriver and selenium find each other by the name localhost, which a Debian machine has
	@# in /etc/hosts; a bare Debian root (debootstrap, a container image) may have no /etc/hosts.
	@getent hosts localhost >/dev/null || printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n' >> /etc/hosts
apt-vagrant:
	$(call apt_install,$(VAGRANT_APT_PACKAGES))

# The demo's virtualenv holds the project alone (no plotting, no test tools); the tests' adds
# the `lab` and `test` extras.
venv-demo: $(VENV)/.installed-demo
$(VENV)/.installed-demo: pyproject.toml setup.py minidns/_udpbatch.c
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml setup.py minidns/_udpbatch.c
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[lab,test]'
	touch $@ $(VENV)/.installed-demo

lint: venv
	$(VENV)/bin/ruff check minibgp minidns lab tests bench
	$(VENV)/bin/ruff format --check minibgp minidns lab tests bench
	$(VENV)/bin/mypy minibgp minidns lab bench

unit: deps
	$(PY) -m pytest -q -m 'not interop and not lab'

test: deps lint
	$(PY) -m pytest -q -ra

demo: deps-demo
	$(PY) -m lab demo

# The Debian 12 box for libvirt, built offline: build/vagrant/anycast-bookworm64.box
vagrant-box: deps-demo apt-vagrant
	$(PY) -m lab.vagrant box

vagrant-check: deps-demo apt-vagrant
	$(PY) -m lab.vagrant check

bench: deps
	$(PY) -m bench.bgp_feed
	$(PY) -m bench.dns_perf
	$(PY) -m bench.dns_tcp
	$(PY) -m bench.dns_fuzz

clean:
	-$(PY) -m lab down
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
