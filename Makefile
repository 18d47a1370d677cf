# The few commands a person types. Each installs what it needs on a fresh
# Debian machine (as root): Debian packages with apt-get, cargo-deb with cargo.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

CARGO ?= cargo
DIST ?= dist
export SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 1795615200)
RUNTIME_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' runtime/Cargo.toml | head -n1)
RUNTIME_DEB := target/debian/vpsc-runtime_$(RUNTIME_VERSION)-1_amd64.deb
DEBIAN_PACKAGES := mmdebstrap lintian dpkg-dev libsqlite3-dev pkg-config xz-utils ca-certificates hyperfine
VPSC_GEN := target/release/vpsc-gen

.PHONY: demo test lint bench deps debs repo runtime-deb lintian clean e2e-full piuparts

## make demo: build the shipped profiles into .debs and a local apt repo in dist/
demo: repo
	@echo "apt repository in $(DIST)/ — add to a Debian 13 host with:"
	@echo "  echo 'deb [trusted=yes] file:$(abspath $(DIST)) trixie main' > /etc/apt/sources.list.d/vpsc.list"

## make test: unit, golden, CLI and end-to-end tests (Debian 13 chroot), then lintian
test: lint runtime-deb
	$(CARGO) test --workspace -- --test-threads=1
	$(MAKE) lintian

## make e2e-full: also install, verify and remove the intermediate and advanced profiles, then piuparts
e2e-full: deps runtime-deb
	time $(CARGO) test -p vpsc-e2e --test vpsc -- --test-threads=1 --include-ignored
	$(MAKE) piuparts

## make lint: formatting, clippy, rustdoc
lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	RUSTDOCFLAGS=-Dwarnings $(CARGO) doc --workspace --no-deps

## make bench: generator time per package, no-op runtime call
bench: deps repo
	bench/run

deps:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@command -v cargo-deb >/dev/null || $(CARGO) install --locked cargo-deb

runtime-deb: deps
	$(CARGO) build --release --workspace --bins
	$(CARGO) deb -p vpsc --no-build
	debian/add-md5sums $(RUNTIME_DEB)

debs repo: runtime-deb
	$(VPSC_GEN) build --out $(DIST) --include-deb $(RUNTIME_DEB)

## make piuparts: piuparts install/purge and upgrade tests of every package in $(DIST) (tests/piuparts/run --help)
piuparts: repo
	time tests/piuparts/run --dist $(DIST)

## lintian on every package we build: no errors, no warnings
lintian: repo
	lintian --fail-on error,warning $$(find $(DIST)/pool -name '*.deb' | sort)

clean:
	rm -rf $(DIST) target/debian
