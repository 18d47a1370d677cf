# The few commands a person types. Each installs what it needs on a fresh
# Debian machine (as root): Debian packages with apt-get, cargo-deb with cargo.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

CARGO ?= cargo
DIST ?= dist
export SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 1795615200)
RUNTIME_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' runtime/Cargo.toml | head -n1)
RUNTIME_DEB := target/debian/vpsc-runtime_$(RUNTIME_VERSION)-1_amd64.deb
GEN_VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
GEN_DEB := target/debian/vpsc-gen_$(GEN_VERSION)-1_amd64.deb
DEBIAN_PACKAGES := mmdebstrap lintian dpkg-dev libsqlite3-dev pkg-config xz-utils ca-certificates hyperfine gnupg sqv \
	qemu-system-x86 qemu-utils openssh-client e2fsprogs expect oathtool systemd-journal-remote chromium ansible rsync python3
# Unsigned packages as built; $(DIST) is the signed repository published from them.
BUILD_DIR := target/debs
# A local signing key made on first use; CI passes the real one (release.yml).
DEMO_KEY_DIR := target/demo-key
SIGNING_KEY ?= $(DEMO_KEY_DIR)/archive.sec.asc
ARCHIVE_KEY ?= $(DEMO_KEY_DIR)/archive.pub.asc
ARCHIVE_URL ?= file:$(abspath $(DIST))
VPSC_GEN := target/release/vpsc-gen
# Test builds carry fault injection; release builds (the packages) never do.
TEST_FEATURES := --features vpsc/fault-injection

.PHONY: demo test check lint bench deps debs repo runtime-deb lintian clean e2e-full e2e-vm piuparts try toolchain-check

## make demo: build the shipped profiles into .debs and a signed local apt repo in dist/
demo: repo
	@echo "signed apt repository in $(DIST)/ (public key $(ARCHIVE_KEY))."
	@echo "Try a profile in a throw-away Debian 13 VM, not on this host:"
	@echo "  make try PROFILE=server"

## make test: lint, then unit, golden, CLI and end-to-end tests (Debian 13 chroot and VM), then lintian
test: lint check

# The tests without lint (CI lints once, in its own job). The VM scenario
# spends most of its time waiting on an emulated guest, the chroot tests on
# dpkg: they run side by side, the VM's output shown after. Both logs become
# target/junit.xml, lintian's verdict target/lintian.txt (CI keeps them).
VM_LOG := target/e2e-vm.log
TEST_LOG := target/test.log
check: runtime-deb
	$(CARGO) test --workspace $(TEST_FEATURES) --no-run
	( $(CARGO) test $(TEST_FEATURES) -p vpsc-e2e --test vm -- --test-threads=1 >$(VM_LOG) 2>&1; echo $$? >$(VM_LOG).status ) & \
	status=0; $(CARGO) test --workspace $(TEST_FEATURES) -- --test-threads=1 --exact --skip server_profile_live_reboot_and_rollback 2>&1 | tee $(TEST_LOG) || status=$$?; \
	wait; echo "== VM scenario ($(VM_LOG))"; cat $(VM_LOG); \
	cat $(TEST_LOG) $(VM_LOG) > target/all-tests.log; .ci/junit target/all-tests.log > target/junit.xml; \
	test "$$status" = 0 && test "$$(cat $(VM_LOG).status)" = 0
	$(MAKE) lintian

## make e2e-full: every end-to-end test, the slow ones too (intermediate and advanced profiles, beginner rollback, the Ansible fleet, every VM scenario), piuparts, and a build with Debian 13's own cargo
e2e-full: deps runtime-deb
	time $(CARGO) test -p vpsc-e2e --tests -- --test-threads=1 --include-ignored
	$(MAKE) piuparts
	$(MAKE) toolchain-check

## make toolchain-check: build the workspace and run its unit tests with Debian 13's rustc and cargo, in a trixie chroot
toolchain-check: deps
	tests/toolchain-check

## make e2e-vm: every live scenario on a booted Debian 13 VM (QEMU; KVM where it works, else TCG)
e2e-vm: deps runtime-deb
	time $(CARGO) test -p vpsc-e2e --test vm -- --test-threads=1 --include-ignored

## make try PROFILE=server: a throw-away VM with the profile installed from $(DIST)/; prints the ssh command
PROFILE ?= server
try: repo
	$(CARGO) run -q -p vpsc-e2e --bin vpsc-vm -- try --profile $(PROFILE) --dist $(DIST)

## make lint: formatting, clippy, rustdoc
lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets $(TEST_FEATURES) -- -D warnings
	RUSTDOCFLAGS=-Dwarnings $(CARGO) doc --workspace --no-deps

## make bench: generator time per package, no-op runtime call, publishing 1,000 packages, health on a booted server (nspawn), a VM install
bench: deps repo
	@command -v systemd-nspawn >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd-container
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
	rm -rf target/docs && target/release/vpsc-docs target/docs
	$(CARGO) deb -p vpsc --no-build
	debian/add-md5sums $(RUNTIME_DEB)
	$(CARGO) deb -p vpsc-gen --no-build
	debian/add-md5sums $(GEN_DEB)

$(SIGNING_KEY):
	mkdir -p $(dir $(SIGNING_KEY)) $(dir $(ARCHIVE_KEY))
	$(VPSC_GEN) repo keygen --user-id "vpsc local archive key <root@localhost>" --secret $(SIGNING_KEY) --public $(ARCHIVE_KEY)

debs: runtime-deb $(SIGNING_KEY)
	$(VPSC_GEN) build --out $(BUILD_DIR) --include-deb $(RUNTIME_DEB) --include-deb $(GEN_DEB) --archive-key $(ARCHIVE_KEY) --archive-url $(ARCHIVE_URL)

# A fresh tree each time: a real repository is published onto its previous
# state instead, which keeps older versions (release.yml does).
repo: debs
	rm -rf $(DIST)
	$(VPSC_GEN) repo publish --pool $(BUILD_DIR)/pool --out $(DIST) --sign-key $(SIGNING_KEY)
	$(VPSC_GEN) repo verify --dir $(DIST) --keyring $(ARCHIVE_KEY)

## make piuparts: piuparts install/purge and upgrade tests of every package in $(DIST) (tests/piuparts/run --help)
piuparts: repo
	time tests/piuparts/run --dist $(DIST)

## lintian on every package we build: no errors, no warnings
lintian: repo
	lintian --fail-on error,warning $$(find $(DIST)/pool -name '*.deb' | sort) 2>&1 | tee target/lintian.txt

clean:
	rm -rf $(DIST) target/debian
