# Nexus COS launch collection: the two commands are `make demo` and `make test`.
# Every install step lives here; each target is safe to re-run.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT        := $(CURDIR)
VENV        := $(ROOT)/.venv
BIN         := $(VENV)/bin
STAMPS      := $(ROOT)/.cache/stamps
SANDBOX     ?= nexus-cos-sandbox
SCENARIO    ?= --all
GATEWAY     ?=
FLAG_STORE  ?=
# make chaos: its own sandbox, and the size of each family (the sizes the suite is held to).
CHAOS_SANDBOX    ?= nexus-cos-chaos
CHAOS_CONCURRENT ?= 20
CHAOS_KILLS      ?= 40
CHAOS_LEVELS     ?= 0,4096,16384,32768,65536
CHAOS_GATEWAY    ?= 1
CHAOS_LINKDROP   ?= 12
CHAOS_SECONDS    ?= 7200
CHAOS_FAMILIES   ?= concurrent,gateway,kills,auditfull,linkdrop
CHAOS_ARGS       ?=

export ANSIBLE_CONFIG      := $(ROOT)/ansible.cfg
export CONTAINERS_CONF     := $(ROOT)/sandbox/containers.conf
export NEXUS_SANDBOX_DOCKER_HOST ?= unix:///run/nexus-cos-sandbox/podman.sock
export PATH                := $(BIN):$(PATH)
export ANSIBLE_FORCE_COLOR ?= $(if $(CI),0,1)
export PY_COLORS           ?= $(if $(CI),0,1)

# Debian packages the project needs on the controller (python, a container
# engine that runs without a Docker daemon, the image builder; shellcheck for
# ansible-test sanity, which skips its shell test without it; chromium, the
# headless browser the launch report is tested in).
DEB_PACKAGES := python3 python3-venv python3-pip git curl ca-certificates podman runc \
                debootstrap uidmap slirp4netns fuse-overlayfs iptables openssl shellcheck chromium

.PHONY: help demo test lint unit units contract molecule bench bench-smoke chaos docs deps venv lock engine image sandbox-up sandbox-down clean \
        compat compat-oldest compat-newest

help:
	@echo "make demo          build the sandbox VPS (first run) and run playbooks/phase4.yml against it"
	@echo "make test          linters, unit tests (ansible-test units), every molecule scenario, the bench smoke,"
	@echo "                   and the oldest and newest supported ansible-core (compat-oldest, compat-newest)"
	@echo "make bench         phase4 wall time and remote module executions beside a no-op play;"
	@echo "                   audit verify at scale; phase4 on 1, 2, 4 and 8 sandbox hosts (its own sandboxes)"
	@echo "make chaos         not part of make test: concurrent prepare runs, SIGKILLs, a full audit disk, a"
	@echo "                   broken gateway, on its own sandbox ($(CHAOS_SANDBOX)); one line a family: trials,"
	@echo "                   held, lost. Smaller: make chaos CHAOS_KILLS=10 CHAOS_CONCURRENT=5 (CHAOS_LEVELS,"
	@echo "                   CHAOS_GATEWAY rounds, CHAOS_SECONDS a family, CHAOS_FAMILIES=kills,gateway)"
	@echo "                   and the SSH link cut mid-run (CHAOS_LINKDROP trials, CHAOS_FAMILIES=linkdrop)"
	@echo "make sandbox-up    start the sandbox VPS ($(SANDBOX)); make sandbox-down removes it"
	@echo "make lint          yamllint, ansible-lint, ansible-test sanity --python 3.11, galaxy-importer,"
	@echo "                   antsibull-changelog lint, antsibull-docs lint-collection-docs"
	@echo "make unit          pytest directly, the quick loop: tests/unit, sandbox/tests and tests/contract (double)"
	@echo "make units         tests/unit through ansible-test units --python 3.11 (a collection copy), then"
	@echo "                   sandbox/tests and tests/contract through pytest: what make test runs"
	@echo "make bench-smoke   every bench script once at a tiny size (1,000 audit records, one host, one run):"
	@echo "                   it must run and write its figures; no target is judged"
	@echo "make molecule [SCENARIO='-s default']"
	@echo "make lock          constraints.txt again from requirements.txt (a throwaway venv, pip freeze)"
	@echo "make docs          the Markdown role reference and READMEs, and the HTML site (docs/_build/html)"
	@echo "make compat        every supported ansible-core (2.16 to 2.21, a venv each under .cache/compat):"
	@echo "                   syntax checks, the unit suite, a phase4 play on a sandbox (tests/compat/run)"
	@echo "make compat-oldest the same on the oldest supported ansible-core only (part of make test)"
	@echo "make compat-newest the same on the newest supported ansible-core only (part of make test)"
	@echo "make contract [GATEWAY=http://host:4000 [FLAG_STORE=/path/to/its/feature-flags.json]]"
	@echo "                   the gateway contract (DESIGN.md 3): the in-process double, or that gateway"

# The stamp names the package list: a package added to it is installed on a
# machine that ran make deps before.
DEPS_STAMP := $(STAMPS)/deps-$(shell printf '%s' '$(DEB_PACKAGES)' | md5sum | cut -c1-12)
deps: $(DEPS_STAMP)
$(DEPS_STAMP):
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@mkdir -p $(STAMPS) && touch $@

# The ansible package whose wheel the test collections are taken from (not installed):
# its py3-none-any wheel's sha256, which pip checks on the download.
ANSIBLE_BUNDLE        := 12.3.0
ANSIBLE_BUNDLE_SHA256 := cd156f82fa87f7a899212b0efa9f7ca3a24d609212de9f78428a572eb01e5414

venv: $(STAMPS)/venv
$(STAMPS)/venv: requirements.txt constraints.txt tests/requirements.yml | $(DEPS_STAMP)
	@# --clear: a package requirements.txt no longer names (passlib, docker) must not linger.
	python3 -m venv --clear $(VENV)
	@# constraints.txt: every package of the venv, transitive ones too, at the version make lock found.
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt -c constraints.txt
	@# The checkout is the collection: make it importable (tests, nexusctl).
	echo "$(ROOT)/.collections" > $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/nexus-cos-launch.pth
	ln -sf $(ROOT)/bin/nexusctl $(BIN)/nexusctl
	@# The collections the tests use (tests/requirements.yml), out of the ansible package's wheel:
	@# Galaxy is not needed, and the other ~450 MB of its collections are not installed.
	$(BIN)/python tests/collections/install.py --requirements tests/requirements.yml \
	  --bundle ansible==$(ANSIBLE_BUNDLE) --sha256 $(ANSIBLE_BUNDLE_SHA256) \
	  --dest $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
	@touch $@

# constraints.txt again, from a throwaway venv with requirements.txt alone (newest
# transitive versions allowed); review its diff, then make venv installs it.
LOCK_VENV := $(ROOT)/.cache/lock-venv
lock: $(DEPS_STAMP)
	rm -rf $(LOCK_VENV)
	python3 -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt
	{ echo "# Every package of the venv, pinned: make venv installs requirements.txt under it."; \
	  echo "# Generated by make lock from requirements.txt; do not edit by hand."; \
	  $(LOCK_VENV)/bin/pip freeze --all --exclude pip --exclude setuptools --exclude wheel; } > constraints.txt.tmp
	mv constraints.txt.tmp constraints.txt
	rm -rf $(LOCK_VENV)

engine: deps
	sandbox/bin/engine-up

image: deps
	sandbox/bin/image-build

sandbox-up: deps venv
	sandbox/bin/sandbox-up $(SANDBOX)

sandbox-down:
	sandbox/bin/sandbox-down $(SANDBOX)

demo: sandbox-up
	$(BIN)/ansible-playbook playbooks/phase4.yml -i inventories/sandbox
	@echo
	@echo "The sandbox stays up: podman exec -it $(SANDBOX) bash   (make sandbox-down removes it)"
	@echo "Controller reports: $(ROOT)/artifacts/"
	@# nexusctl is in the venv, not on PATH: the exact command, ready to paste.
	@echo "Next, nexusctl (in .venv/bin, not on your PATH): $(BIN)/nexusctl status"
	@echo "  or put it on PATH for this shell: source $(BIN)/activate; nexusctl --help"

# ansible-test sanity runs from a copy laid out as ansible_collections/nexus_cos/launch
# (tests/sanity/run); its findings that do not apply are in tests/sanity/ignore-2.19.txt.
lint: venv
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint --profile production --offline
	tests/sanity/run
	@# What Galaxy runs on an upload, on the built tarball, offline (tests/galaxy/import says what it checks).
	tests/galaxy/import
	$(BIN)/antsibull-changelog lint
	@# Every module's and role's documentation as the docs site renders it (every entry point).
	$(BIN)/antsibull-docs lint-collection-docs --plugin-docs .

# Unit tests include the gateway contract, always against the in-process double.
unit: venv
	env -u NEXUS_GATEWAY_URL -u NEXUS_CONTRACT_FLAG_STORE $(BIN)/python -m pytest

# The unit suite as the ecosystem runs it: ansible-test units on a copy laid out
# as ansible_collections/nexus_cos/launch (tests/run-ansible-test), in worker
# processes; the sandbox's and the contract's tests stay under pytest.
units: venv
	tests/run-ansible-test units --python 3.11 --color no
	env -u NEXUS_GATEWAY_URL -u NEXUS_CONTRACT_FLAG_STORE $(BIN)/python -m pytest sandbox/tests tests/contract

# Read-only tests only, unless FLAG_STORE names the gateway's own store (restored byte for byte).
contract: venv
	NEXUS_GATEWAY_URL='$(GATEWAY)' NEXUS_CONTRACT_FLAG_STORE='$(FLAG_STORE)' $(BIN)/python -m pytest -rs tests/contract

molecule: venv engine image
	$(BIN)/molecule test $(SCENARIO)

test: lint units molecule bench-smoke compat-oldest compat-newest

# The supported ansible-core releases (meta/runtime.yml's requires_ansible up to the
# newest tested), one venv each from tests/compat/requirements-MINOR.txt. make test
# runs the oldest and the newest (the main venv's release is in between).
COMPAT_MINORS := $(sort $(patsubst tests/compat/requirements-%.txt,%,$(wildcard tests/compat/requirements-*.txt)))
COMPAT_OLDEST := $(firstword $(COMPAT_MINORS))
COMPAT_NEWEST := $(lastword $(COMPAT_MINORS))
compat: venv engine image
	NEXUS_MAIN_BIN=$(BIN) tests/compat/run

compat-oldest: venv engine image
	NEXUS_MAIN_BIN=$(BIN) tests/compat/run $(COMPAT_OLDEST)

compat-newest: venv engine image
	NEXUS_MAIN_BIN=$(BIN) tests/compat/run $(COMPAT_NEWEST)

bench: sandbox-up
	$(BIN)/python tests/bench/phase4_bench.py --inventory inventories/sandbox
	$(BIN)/python tests/bench/audit_bench.py
	$(BIN)/python tests/bench/fleet_bench.py

# make bench cannot rot: each script once, at a tiny size, its figures written;
# their timing targets are for make bench (fleet_bench judges none below 8 hosts).
BENCH_SMOKE := $(ROOT)/.cache/bench-smoke
bench-smoke: sandbox-up
	rm -rf $(BENCH_SMOKE) && mkdir -p $(BENCH_SMOKE)
	$(BIN)/python tests/bench/phase4_bench.py --inventory inventories/sandbox --runs 1 --no-target --json $(BENCH_SMOKE)/phase4.json
	$(BIN)/python tests/bench/audit_bench.py --records 1000 --runs 1 --no-target --trail-dir $(BENCH_SMOKE)/trail
	$(BIN)/python tests/bench/fleet_bench.py --sizes 1 --runs 1 --json $(BENCH_SMOKE)/fleet.json
	@for f in phase4 fleet; do test -s $(BENCH_SMOKE)/$$f.json || { echo "bench-smoke: $$f wrote no figures"; exit 1; }; done
	@echo "bench-smoke: every bench script ran"

chaos: venv engine image
	$(BIN)/python tests/chaos/chaos.py --sandbox $(CHAOS_SANDBOX) --concurrent $(CHAOS_CONCURRENT) \
	  --kills $(CHAOS_KILLS) --linkdrop $(CHAOS_LINKDROP) --levels $(CHAOS_LEVELS) --gateway-rounds $(CHAOS_GATEWAY) \
	  --family-seconds $(CHAOS_SECONDS) --families $(CHAOS_FAMILIES) $(CHAOS_ARGS)

docs: venv
	$(BIN)/python docs/render_variables.py
	@# The HTML site, offline: modules, roles (every entry point), the guides.
	docs/build_site

clean:
	rm -rf artifacts .cache/stamps
