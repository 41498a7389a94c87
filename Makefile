# govkiosk — every target CI and developers use. `make setup run` / `make test` (README).
SHELL := /bin/bash
# The system Python: Debian's python3-gi (for umockdev) is built for it.
PYTHON ?= /usr/bin/python3
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)

# Debian/UOS/Kylin packages needed to develop, test and run the demo.
APT_PACKAGES := python3 python3-venv python3-dev python3-gi gcc pkg-config \
	dbus-daemon mosquitto mosquitto-clients cups cups-client libcups2-dev \
	nut-server nut-client umockdev gir1.2-umockdev-1.0 socat \
	xvfb xauth fonts-wqy-zenhei poppler-utils libmtdev1

XVFB := xvfb-run -a -s "-screen 0 1280x800x24"
PYTEST := $(BIN)/pytest

.PHONY: setup system-packages venv check format test test-umockdev run bench clean

setup: system-packages venv

system-packages:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:" $$missing; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml constraints.txt
	$(PYTHON) -m venv --system-site-packages $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[ui,dev]'
	touch $@

check: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/vermin --no-tips --violations -t=3.8- daemon kivy_ui

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Tests that need umockdev's LD_PRELOAD run in a process of their own.
test: setup check
	$(XVFB) $(PYTEST) -m "not umockdev"
	$(MAKE) test-umockdev

test-umockdev: venv
	umockdev-wrapper $(PYTEST) -m umockdev

run: setup
	$(BIN)/python -m govkiosk.demo

bench: setup
	$(BIN)/python -m bench $(BENCH)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
