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
	xvfb xauth fonts-wqy-zenhei poppler-utils libmtdev1 gettext espeak-ng \
	x11-apps x11-utils polkitd \
	prometheus

XVFB := xvfb-run -a -s "-screen 0 1280x800x24"
PYTEST := $(BIN)/pytest

.PHONY: setup system-packages venv check format test test-umockdev run bench clean \
	locale pot screenshots manual \
	packaging-packages stage deb rpm package-test

setup: system-packages venv locale

system-packages:
	@$(call apt_install,$(APT_PACKAGES))

# Installs the Debian packages named in $(1) that are missing.
define apt_install
	missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:" $$missing; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

venv: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml constraints.txt
	$(PYTHON) -m venv --system-site-packages $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[ui,dev,demo,face]'
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
	$(XVFB) $(PYTEST) -m "not umockdev and not packaging"
	$(MAKE) test-umockdev
	$(MAKE) package-test

# Every parser and decoder (the tests marked fuzz) under hypothesis's deep profile
# (tests/conftest.py: >= 10,000 cases each); not part of `make test`, which runs them with
# the ci profile. The statistics give each property's case count and time.
.PHONY: fuzz
fuzz: venv
	HYPOTHESIS_PROFILE=deep $(PYTEST) -m fuzz --timeout=3600 \
		--hypothesis-show-statistics $(FUZZ_ARGS)

test-umockdev: venv
	umockdev-wrapper $(PYTEST) -m umockdev

run: setup
	$(BIN)/python -m govkiosk.demo

# docs/configuration.md from the typed configuration (a test fails when it is stale).
.PHONY: config-doc
config-doc: venv
	$(BIN)/python -m govkiosk.cli.main config-doc --output docs/configuration.md

# docs/bridge-reference.md from the web-app bridge's schema (a test fails when it is stale).
.PHONY: bridge-reference
bridge-reference: venv
	$(BIN)/python -m govkiosk.cli.main webapp reference --output docs/bridge-reference.md

bench: setup
	$(BIN)/python -m bench $(BENCH)

# The UI's translations (kivy_ui/govkiosk_ui/locale): `make pot` after changing messages,
# then translate what is new in each .po; `make locale` compiles them (setup does).
UI_LOCALE := kivy_ui/govkiosk_ui/locale
UI_MO := $(patsubst %.po,%.mo,$(wildcard $(UI_LOCALE)/*/LC_MESSAGES/govkiosk_ui.po))

locale: $(UI_MO)

$(UI_LOCALE)/%.mo: $(UI_LOCALE)/%.po
	msgfmt --check-format --check-domain -o $@ $<

pot:
	cd kivy_ui/govkiosk_ui && xgettext -L Python -k_ -kN_ --from-code=UTF-8 \
		--add-comments=xgettext: --add-location=file --sort-output --no-wrap \
		--package-name=govkiosk_ui --msgid-bugs-address=ops@govkiosk.invalid \
		-o locale/govkiosk_ui.pot $$(find . -name '*.py' -o -name '*.kv' | sort)
	for po in $(UI_LOCALE)/*/LC_MESSAGES/govkiosk_ui.po; do \
		msgmerge --quiet --update --backup=none --no-wrap --sort-output $$po $(UI_LOCALE)/govkiosk_ui.pot; done

# Every screen in both languages, as PNGs to look through: screenshots/<lang>/<screen>.png.
screenshots: setup
	GOVKIOSK_SCREENSHOTS=$(CURDIR)/screenshots $(XVFB) $(PYTEST) -q tests/test_ui_screens.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

# --- Packages: deb and rpm (docs/install.md; tests/test_packaging.py) -------------------
# Tools to build, check and install-test them; installed only by the targets below.
PACKAGING_APT_PACKAGES := debhelper dh-python dpkg-dev fakeroot lintian rpm rpmlint \
	python3-pip python3-setuptools python3-wheel systemd dbus-daemon
VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' daemon/govkiosk/__init__.py)
STAGE := build/stage/govkiosk-$(VERSION)
# Package builds see the system's tools, not the virtualenv's.
SYSTEM_PATH := /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

packaging-packages:
	@$(call apt_install,$(PACKAGING_APT_PACKAGES))

# The source as it is in the work tree (tracked and new files, not ignored ones), the
# compiled UI translations and the vendored libraries: what both package builds start from.
stage: packaging-packages locale
	rm -rf build/stage && mkdir -p $(STAGE)
	{ git ls-files -z --cached --others --exclude-standard; printf '%s\0' $(UI_MO); } | \
		xargs -0 sh -c 'for f; do [ -f "$$f" ] && printf "%s\0" "$$f"; done' sh | \
		tar --null -T - -cf - | tar -xf - -C $(STAGE)
	packaging/vendor.sh fill $(STAGE)/vendor

deb: stage
	cp -a packaging/debian $(STAGE)/debian
	cd $(STAGE) && PATH=$(SYSTEM_PATH) dpkg-buildpackage -b -us -uc
	mkdir -p dist && mv build/stage/govkiosk*_$(VERSION)_all.deb dist/

rpm: stage
	rm -rf build/rpm && mkdir -p build/rpm/SOURCES dist
	tar -C build/stage --exclude=govkiosk-$(VERSION)/debian \
		-czf build/rpm/SOURCES/govkiosk-$(VERSION).tar.gz govkiosk-$(VERSION)
	cp packaging/depends.py packaging/depends.txt build/rpm/SOURCES/
	cp packaging/sysusers/govkiosk.conf build/rpm/SOURCES/govkiosk.sysusers
	# --nodeps: on a Debian host the build tools are debs, unknown to the (empty) rpm database.
	PATH=$(SYSTEM_PATH) rpmbuild -bb --nodeps --define "_topdir $(CURDIR)/build/rpm" packaging/rpm/govkiosk.spec
	cp build/rpm/RPMS/noarch/govkiosk*-$(VERSION)-*.rpm dist/

# Builds both packages, checks them, installs the deb on this machine and purges it.
package-test: venv packaging-packages
	$(PYTEST) -m packaging

# --- The operations manual (运维手册, docs/manual/; not part of `make test`) ------------
# build/manual/govkiosk-manual.pdf from docs/manual/manual.md, with the alarm and staff-code
# tables generated from the daemon and the screenshots of `make screenshots` (made first
# when there are none; `make screenshots manual` refreshes them). reportlab (the demo
# extra) draws it with fonts-wqy-zenhei, both already installed by `make setup`.
MANUAL := build/manual/govkiosk-manual.pdf

manual: venv locale
	[ -f screenshots/zh_CN/home.png ] || $(MAKE) screenshots
	$(BIN)/python docs/manual/build.py --screenshots screenshots/zh_CN --out $(MANUAL)
