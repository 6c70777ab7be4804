# lvs.ha developer entry points. Everything Python runs from the project-local .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LAB := $(PY) -m lab
HOST ?= dr1

.DEFAULT_GOAL := help
.PHONY: help venv lab lab-setup lab-up lab-status lab-shell lab-reboot lab-down lab-bench bench-ipvs bench-failover \
        test unit unit-checkout sanity integration integration-netns integration-ipvs smoke molecule lab-tests lint \
        tarball installed role-readmes docs release-check clean

help:
	@echo "make lab        bring the virtual lab up, run the site against it, show pages and a failover"
	@echo "make test       unit, sanity, integration, lab and molecule tests (boots and tears down the lab)"
	@echo "make lab-up | lab-status | lab-shell HOST=dr1 | lab-reboot HOST=web1 | lab-down | lab-bench | molecule"
	@echo "make bench-ipvs [BENCH_ARGS=...]   ipvs_table against ipvsadm, keepalived and the single-entry modules (lab guest)"
	@echo "make bench-failover [BENCH_ARGS=...]   what a client sees on failover, per VRRP profile (BENCH_ARGS=--dry-run: the plan)"
	@echo "LAB_RELEASE=trixie|bookworm|mixed make lab-up   the hosts' Debian release (default trixie)"
	@echo "make smoke | molecule | lab-tests TEST_RELEASE=trixie|bookworm   the lab tests (default: mixed); lab-tests: both over one boot"
	@echo "make verify-site | failover     (against a running lab with the site)"
	@echo "make lint | unit | sanity       the checks without the lab"
	@echo "make docs | role-readmes | release-check   HTML docs, role READMEs, Galaxy's import checks"

$(VENV)/.stamp: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.stamp

# ---- the virtual lab -------------------------------------------------------------------------
lab-setup: venv
	$(LAB) setup

lab-up: lab-setup
	$(LAB) up

lab-status: venv
	$(LAB) status

lab-shell: venv
	$(LAB) shell $(HOST)

lab-reboot: venv
	$(LAB) reboot $(HOST)

lab-down: venv
	$(LAB) down

lab-bench: lab-setup
	$(LAB) bench

# ipvs_table against a per-entry ipvsadm loop, one ipvsadm -R, the single-entry modules and keepalived, at 100,
# 1,000 and 5,000 entries, in one lab guest (tools/ipvs_bench.py): docs/bench/ipvs.json and ipvs.png. Not part of
# make test. matplotlib (for the plot only) goes to .build/bench-py, outside the venv and requirements-dev.txt.
# The guest boot waits for the lab lock (another lab on this machine). BENCH_ARGS: e.g. --sizes 100 --rounds 3.
BENCH_ARGS ?=
BENCH_PY := .build/bench-py
bench-ipvs: lab-setup
	@PYTHONPATH=$(BENCH_PY) $(PY) -c 'import matplotlib' 2>/dev/null \
	  || $(PY) -m pip install --quiet --target $(BENCH_PY) matplotlib
	PYTHONPATH=$(BENCH_PY) flock /tmp/lvsha-lab.lock $(PY) tools/ipvs_bench.py $(BENCH_ARGS)

# What a client sees while the directors fail over (issue 10, tools/failover_bench.py, docs/failover.md): per VRRP
# profile (v2-default, v2-unicast, v3-fast, v3-fast-sync) the events crash, graceful, failback, reload and
# weight_change, 5 runs each: docs/bench/failover.json, the table of docs/failover.md, docs/bench/failover-*.png.
# Not part of make test; hours of lab time (the tool prints its estimate first). The tool takes the lab lock
# itself (no flock here) and boots the lab unless one runs. matplotlib as for bench-ipvs. BENCH_ARGS: e.g.
# --profiles v3-fast-sync --events crash --runs 3; --dry-run prints the plan and touches nothing (nor does this
# target then: no lab-setup, no matplotlib).
BENCH_DRY := $(findstring --dry-run,$(BENCH_ARGS))
bench-failover: $(if $(BENCH_DRY),venv,lab-setup)
	@[ -n "$(BENCH_DRY)" ] || PYTHONPATH=$(BENCH_PY) $(PY) -c 'import matplotlib' 2>/dev/null \
	  || $(PY) -m pip install --quiet --target $(BENCH_PY) matplotlib
	PYTHONPATH=$(BENCH_PY) $(PY) tools/failover_bench.py $(BENCH_ARGS)

lab: lab-up
	$(LAB) site
	$(LAB) demo

# ---- tests -----------------------------------------------------------------------------------
# Every unit test runs once: sanity runs those the tarball ships (plugins, playbooks, roles) under `ansible-test
# units`, unit-checkout the others (the lab tool, the molecule helpers, tools/); `make unit` runs them all again
# (about 100 s more of the budget). lab-setup before sanity: it installs keepalived on this machine, which the
# unit tests of keepalived.conf run (`keepalived -t`; they fail in CI without it, and skip elsewhere). One phase
# after the other, stopping at the first that fails, then the time of each and of each molecule step
# (tools/phases.py): CI keeps only the end of the output, and has a time budget.
TEST_PHASES := lint lab-setup unit-checkout sanity integration lab-tests
test: venv
	MAKE="$(MAKE)" $(PY) tools/phases.py $(TEST_PHASES) --molecule-log $(MOLECULE_LOG)

# tests/unit (pytest.ini's testpaths; pytest.ini holds the options of every pytest run).
unit: venv
	$(PY) -m pytest

# The unit tests of what the tarball leaves out, so `ansible-test units` in sanity does not run them: the
# tests/unit folders galaxy.yml's build_ignore names (read from there, so a folder left out of the tarball is
# never left out of make test too).
UNIT_CHECKOUT := $(shell sed -n 's|^  - \(tests/unit/[^ ]*\)$$|\1|p' galaxy.yml)
unit-checkout: venv
	$(PY) -m pytest $(UNIT_CHECKOUT)

# ruff (its rules, and the code is as ruff format writes it), the role READMEs are what their argument specs
# generate, ansible-lint, the docs of modules, filters and roles (schema, markup, references), then the changelog:
# fragments and changelogs/changelog.yaml are valid and CHANGELOG.md is what they generate.
RUFF_PATHS := lab plugins tests molecule tools
lint: venv
	$(VENV)/bin/ruff check $(RUFF_PATHS)
	$(VENV)/bin/ruff format --check $(RUFF_PATHS)
	$(PY) tools/role_readme.py --check
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/ansible-lint --offline --nocolor
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(VENV)/bin/antsibull-docs lint-collection-docs --plugin-docs \
	  --validate-collection-refs all --skip-rstcheck .
	$(VENV)/bin/antsibull-changelog lint
	$(VENV)/bin/antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml
	mkdir -p .build && $(VENV)/bin/antsibull-changelog generate --output .build/CHANGELOG.md --output-format md
	@cmp -s .build/CHANGELOG.md CHANGELOG.md \
	  || { echo "CHANGELOG.md is out of date: run .venv/bin/antsibull-changelog generate"; exit 1; }

# roles/*/README.md from each role's meta/argument_specs.yml (make lint fails when one is out of date).
role-readmes: venv
	$(PY) tools/role_readme.py

# The collection's HTML docs (modules, filters, roles) with antsibull-docs: a Sphinx site made by sphinx-init in
# .build/docs, made to build offline (tools/docs_offline.py), then its build.sh (antsibull-docs collection, then
# sphinx-build with warnings as errors). The pages: .build/docs/build/html/index.html. Not part of make test.
# antsibull-docs wants its directories writable by their owner only.
docs: venv
	rm -rf .build/docs && mkdir -p .build/docs && chmod 755 .build/docs
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH antsibull-docs sphinx-init --use-current --squash-hierarchy --fail-on-error \
	  --project lvs.ha --copyright "lvs.ha maintainers" --title "lvs.ha" --html-short-title "lvs.ha" \
	  --dest-dir .build/docs lvs.ha
	$(PY) tools/docs_offline.py .build/docs
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/collections .build/docs/build.sh

# The tarball as Galaxy would take it: ansible-galaxy collection build into .build/release, then galaxy-importer
# on it (tools/release_check.py) with tools/galaxy-importer.cfg, which turns off what needs a container runtime
# (ansible-test in Galaxy's image) and flake8 (ruff covers it). Any importer warning fails it. Not part of
# make test: while galaxy.yml names no repository, Galaxy refuses the tarball, and so does this check (make
# sanity runs the importer's other checks on each run).
IMPORT_CHECK := PATH=$(CURDIR)/$(VENV)/bin:$$PATH GALAXY_IMPORTER_CONFIG=$(CURDIR)/tools/galaxy-importer.cfg \
  $(PY) tools/release_check.py
release-check: venv
	rm -rf .build/release && mkdir -p .build/release
	$(VENV)/bin/ansible-galaxy collection build --output-path .build/release
	$(IMPORT_CHECK) .build/release/lvs-ha-$$(sed -n 's/^version: //p' galaxy.yml).tar.gz

# ansible-test wants the collection under ansible_collections/<namespace>/<name>: test a copy, and the copy is
# the tarball's content, so sanity checks what Galaxy gets and nothing else (galaxy.yml's build_ignore keeps
# the lab, molecule, tools/ and the other developer files out of both).
# The copy gets its own `git init`: ansible-test lists files with git from the nearest .git upwards and would
# otherwise see this checkout, where .build/ is ignored, and skip every target.
# pip_bootstrap.py lets ansible-test build its sanity venvs from PyPI alone (no ci-files.testing.ansible.com).
# Then `ansible-test units` on the same copy: the unit tests the tarball ships, as a user of the collection runs
# them. --venv: ansible-test makes the venv it runs them in and installs its test tools (pytest-xdist, ...)
# and tests/unit/requirements.txt there, from PyPI; .venv stays as requirements-dev.txt makes it.
# ansible-test passes no CI variable to the tests, so a test that fails in CI when a tool is missing skips
# there: in CI, a skip fails sanity.
# Last, Galaxy's import checks on the tarball (as make release-check, about 20 s), where a missing repository
# in galaxy.yml is reported and let pass (--repository-optional): that one is for make release-check to stop.
SANITY_JUNIT := .build/sanity/ansible_collections/lvs/ha/tests/output/junit
sanity: tarball
	rm -rf .build/sanity && mkdir -p .build/sanity/ansible_collections/lvs/ha
	tar -xzf .build/tarball/lvs-ha-*.tar.gz -C .build/sanity/ansible_collections/lvs/ha
	$(PY) tools/pip_bootstrap.py
	cd .build/sanity/ansible_collections/lvs/ha && git init -q \
	  && PATH=$(CURDIR)/$(VENV)/bin:$$PATH ansible-test sanity --python 3.11 --color no \
	  && PATH=$(CURDIR)/$(VENV)/bin:$$PATH ansible-test units --venv --python 3.11 --color no
	@if [ -n "$$CI" ] && grep -l 'skipped="[1-9]' $(SANITY_JUNIT)/*.xml; then \
	  echo "sanity: ansible-test units skipped a test in CI (the reports above): a tool it needs is missing"; \
	  exit 1; fi
	$(IMPORT_CHECK) --repository-optional .build/tarball/lvs-ha-*.tar.gz

integration: integration-netns integration-ipvs

integration-netns: venv
	$(PY) tests/integration/run_netns.py

integration-ipvs: lab-setup
	$(PY) tests/integration/run_ipvs.py

# The lab tests run on TEST_RELEASE: `mixed` puts hosts of both Debian releases in one lab (dr1, web1 and the
# client on trixie, dr2 and web2 on bookworm), so one run proves the site on both. TEST_RELEASE=trixie or
# bookworm runs them on one release.
TEST_RELEASE ?= mixed

# Boots its own lab unless one of its kind is up. LAB_ROOTS=shared runs the tests that apply to hosts on this
# machine's tree (the lab of earlier versions; not part of make test).
LAB_ROOTS ?= debian
smoke: lab-setup
	LAB_ROOTS=$(LAB_ROOTS) LAB_RELEASE=$(TEST_RELEASE) $(PY) -m pytest --durations=5 tests/lab

# Every scenario in molecule/ over one lab boot (shared_state): check mode, converge, idempotence, verify,
# the failover drill, verify again. Always from fresh hosts and a clean molecule state; the lab is stopped
# at the end even when a step fails (molecule leaves it up when its failure cleanup fails). Every line gets
# the time of day, so the log shows what each step cost. With shared_state the scenarios share one ephemeral
# directory, so resetting the default scenario resets them all. The log is also kept in .build/molecule.log;
# when a step fails, the last lines say which tasks failed and why (tools/failed_tasks.py), as CI keeps only
# the end of what make test printed.
# MOLECULE_EXCLUDE=reuse leaves out the roles reused with a static IPVS table (and its MASTER reboot).
MOLECULE_EXCLUDE ?=
MOLECULE_LOG = .build/molecule.log
MOLECULE_TEST = set -o pipefail; mkdir -p $(dir $(MOLECULE_LOG)); \
	  LAB_ROOTS=debian LAB_RELEASE=$(TEST_RELEASE) NO_COLOR=1 ANSIBLE_NOCOLOR=1 \
	  $(LAB) exec -- molecule test --all $(addprefix --exclude ,$(MOLECULE_EXCLUDE)) 2>&1 \
	  | while IFS= read -r line; do printf '%(%T)T %s\n' -1 "$$line"; done | tee $(MOLECULE_LOG) \
	  || { $(LAB) down; $(PY) tools/failed_tasks.py $(MOLECULE_LOG); exit 1; }
molecule: lab-setup installed
	$(LAB) down
	$(LAB) exec -- molecule reset
	$(MOLECULE_TEST)

# What make test runs: the lab tests and molecule over one lab boot (a boot under TCG is about a minute and a
# half). The lab tests go first, on the hosts as they booted: they check that nothing of the site is there and
# leave the hosts as they found them (every test undoes what it does; the reboots lose only runtime state), so
# molecule's scenarios still start from fresh hosts; molecule's create finds the lab running, its destroy
# stops it.
# make test runs molecule/reuse with its failover drills alone (molecule/reuse/failover.yml: the MASTER's crash
# on the recommended fast profile with connection sync, then its reboot with a static table): its drain,
# maintenance and handover drills cost about 12 minutes more, and make test is over its time budget already.
# `make molecule` runs them all, as does `make test TEST_REUSE_SIDE_EFFECT=side_effect.yml`.
TEST_MOLECULE_EXCLUDE ?=
TEST_REUSE_SIDE_EFFECT ?= failover.yml
lab-tests: MOLECULE_EXCLUDE = $(TEST_MOLECULE_EXCLUDE)
lab-tests: export LVS_REUSE_SIDE_EFFECT = $(TEST_REUSE_SIDE_EFFECT)
lab-tests: lab-setup installed
	$(LAB) down
	$(LAB) exec -- molecule reset
	LAB_ROOTS=debian LAB_RELEASE=$(TEST_RELEASE) $(LAB) up
	LAB_ROOTS=debian LAB_RELEASE=$(TEST_RELEASE) $(PY) -m pytest --durations=5 tests/lab || { $(LAB) down; exit 1; }
	$(MOLECULE_TEST)

# The tarball `ansible-galaxy collection build` makes (what galaxy.yml's build_ignore leaves in), in .build/tarball.
tarball: venv
	rm -rf .build/tarball && mkdir -p .build/tarball
	$(VENV)/bin/ansible-galaxy collection build --output-path .build/tarball

# The collection as a user gets it: the tarball installed with `ansible-galaxy collection install` into
# .build/installed. The molecule names scenario runs the site from there (its ANSIBLE_COLLECTIONS_PATH), not
# from the checkout.
installed: tarball
	rm -rf .build/installed
	$(VENV)/bin/ansible-galaxy collection install --offline --force -p .build/installed .build/tarball/lvs-ha-*.tar.gz

clean: lab-down
	rm -rf .build

# ---- against a running lab -------------------------------------------------------------------
.PHONY: verify-site failover
verify-site: venv
	$(PY) -m pytest -s molecule/default/tests

failover: venv
	$(LAB) demo
