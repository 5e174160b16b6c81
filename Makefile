# make demo  -- install everything (Debian 12, as root), bring the lab up, run the seed's scenarios, tear down
# make test  -- install everything and run the whole test suite (unit, interop with FRR/PowerDNS, lab)
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
APT_PACKAGES := python3-venv python3-dev gcc iproute2 iputils-ping procps sqlite3 tcpdump \
	frr pdns-server pdns-backend-bind pdns-backend-sqlite3 pdns-tools bird2 gobgpd \
	dnsutils knot-dnsutils dnsperf vagrant

.PHONY: all deps apt venv test unit lint demo bench clean
all: test

deps: apt venv

# System packages: installed only when one is missing. A policy-rc.d keeps the packages' own
# services (frr, pdns) from starting in the machine's namespace while they install.
apt:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		made_policy=; if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; rc=$$?; \
		[ -n "$$made_policy" ] && rm -f /usr/sbin/policy-rc.d; exit $$rc; \
	fi

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml setup.py minidns/_udpbatch.c
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

lint: venv
	$(VENV)/bin/ruff check minibgp minidns lab tests bench
	$(VENV)/bin/ruff format --check minibgp minidns lab tests bench
	$(VENV)/bin/mypy minibgp minidns lab bench

unit: deps
	$(PY) -m pytest -q -m 'not interop and not lab'

test: deps lint
	$(PY) -m pytest -q -ra

demo: deps
	$(PY) -m lab demo

bench: deps
	$(PY) -m bench.bgp_feed
	$(PY) -m bench.dns_perf

clean:
	-$(PY) -m lab down
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
