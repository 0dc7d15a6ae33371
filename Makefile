# Entra ID login stack for Linux: entra-syncd, entra-sync, libnss_scim.so.2, pam_entra.so.
#
#   make          build into build/
#   make check    install deps, build with ASan+UBSan into build/san, run unit + integration tests
#   make install  install into $(DESTDIR)$(PREFIX) (Debian locations)
#
# Conventions (so a new source file needs no Makefile edit):
#   common/*.c             -> $(B)/libcommon.a (PIC: linked into the modules too)
#   sync/*/*.c             -> $(B)/libsync.a, except the two mains below (one folder per
#                             sub-system: http, scim, store, rules, publish, tokens, doctor, cli)
#   sync/syncd/syncd_main.c -> $(B)/entra-syncd
#   sync/cli/cli_main.c    -> $(B)/entra-sync
#   nss_scim/*.c           -> $(B)/libnss_scim.so.2   (exports only nss_scim/nss_scim.sym)
#   pam_entra/*.c          -> $(B)/pam_entra.so       (exports only pam_entra/pam_entra.sym; no network,
#                             TLS or JWT code: it signs in through entra-authd)
#   authd/*.c              -> $(B)/libauthd.a, except authd_main.c
#   authd/authd_main.c     -> $(B)/entra-authd (the sign-in broker: device code flow, token checks)
#   httpc/*.c              -> $(B)/libhttpc.a (the HTTPS client on libcurl: entra-authd and
#                             entra-sync doctor, through httpc/httpc.h)
#   tests/unit/test_*.c    -> $(B)/tests/test_*       (cmocka, linked with every component archive)
#   tests/tools/*.c        -> $(B)/tests/tools/*      (C helpers the integration tests drive)
#   tests/integration/test_*.py run by pytest with ENTRA_BUILD=$(B)
#   tests/bench/*.c        -> $(B)/bench/*  (benchmark drivers; `make bench`, results in build/bench.json)
#   tests/fuzz/fuzz_*.c    -> build/fuzz/fuzz/fuzz_*  (libFuzzer, `make fuzz`; corpus in
#                             tests/fuzz/corpus/NAME/, replayed by `make check`)

SHELL := /bin/bash
CC ?= cc
PREFIX ?= /usr
MULTIARCH ?= $(shell $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
LIBDIR ?= /lib/$(MULTIARCH)
PAMDIR ?= $(LIBDIR)/security
SYSCONFDIR ?= /etc
PYTHON ?= /usr/bin/python3

SAN ?= 0
FUZZ ?= 0
ifeq ($(FUZZ),1)
# libFuzzer: every object gets coverage instrumentation, targets link the fuzzer main.
CC := clang
B ?= build/fuzz
SANFLAGS := -fsanitize=address,undefined,fuzzer-no-link -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(SAN),1)
B ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
B ?= build
SANFLAGS :=
endif

PKGS := jansson libmicrohttpd libcurl sqlite3 openssl gnutls
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-unused-parameter
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -fPIC $(WARN) $(CFLAGS) $(SANFLAGS) \
	-I. $(PKG_CFLAGS) -fstack-protector-strong -D_FORTIFY_SOURCE=2 -MMD -MP
LDFLAGS_ALL := $(SANFLAGS) -Wl,-z,relro,-z,now -Wl,--as-needed $(LDFLAGS)

# The shared objects resolve every symbol at link time (-z defs), so a dependency nobody listed
# fails the build instead of a login. With sanitizers clang (unlike gcc, which links libasan.so
# into the module) leaves its runtime to the executable that loads the module: no -z defs then.
SO_DEFS := -Wl,-z,defs
ifneq ($(SANFLAGS),)
ifneq ($(shell $(CC) --version 2>/dev/null | grep -c clang),0)
SO_DEFS :=
endif
endif

SYNC_LIBS := -lmicrohttpd -lgnutls -ljansson -lsqlite3 -lcrypto -lpthread
# entra-sync alone links libsystemd (sd-bus, to end sessions through logind: sync/sessions/).
CLI_LIBS  := $(SYNC_LIBS) -lcurl -lsystemd
NSS_LIBS  :=
PAM_LIBS  := -lpam -ljansson -lsqlite3
AUTHD_LIBS := -lcurl -ljansson -lcrypto -lpthread
TEST_LIBS := -lcmocka -lpam $(sort $(CLI_LIBS) $(PAM_LIBS) $(AUTHD_LIBS))

COMMON_SRC := $(wildcard common/*.c)
SYNC_MAINS := sync/syncd/syncd_main.c sync/cli/cli_main.c
SYNC_SRC   := $(filter-out $(SYNC_MAINS),$(wildcard sync/*/*.c))
NSS_SRC    := $(wildcard nss_scim/*.c)
PAM_SRC    := $(wildcard pam_entra/*.c)
AUTHD_MAIN := authd/authd_main.c
AUTHD_SRC  := $(filter-out $(AUTHD_MAIN),$(wildcard authd/*.c))
HTTPC_SRC  := $(wildcard httpc/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
TOOL_SRC   := $(wildcard tests/tools/*.c)
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
BENCH_SRC  := $(wildcard tests/bench/*.c)

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))
COMMON_OBJ := $(call obj,$(COMMON_SRC))
SYNC_OBJ   := $(call obj,$(SYNC_SRC))
NSS_OBJ    := $(call obj,$(NSS_SRC))
PAM_OBJ    := $(call obj,$(PAM_SRC))
AUTHD_OBJ  := $(call obj,$(AUTHD_SRC))
HTTPC_OBJ  := $(call obj,$(HTTPC_SRC))

PROGRAMS := $(B)/entra-syncd $(B)/entra-sync $(B)/libnss_scim.so.2 $(B)/pam_entra.so $(B)/entra-authd
UNIT_BINS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
TOOL_BINS := $(patsubst tests/tools/%.c,$(B)/tests/tools/%,$(TOOL_SRC))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRC))
BENCH_BINS := $(patsubst tests/bench/%.c,$(B)/bench/%,$(BENCH_SRC))
FUZZ_SECONDS ?= 60
# The objects of the test, tool, bench and fuzz programs are kept (make would delete them as
# intermediates), so a rebuild compiles only what changed.
.SECONDARY: $(call obj,$(UNIT_SRC) $(TOOL_SRC) $(BENCH_SRC) $(FUZZ_SRC))

.PHONY: bench-smoke all tests deps check unit integration install clean format demo bench fuzz fuzz-build fuzz-regress layers
all: $(PROGRAMS)
tests: $(UNIT_BINS) $(TOOL_BINS) $(BENCH_BINS)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/libcommon.a: $(COMMON_OBJ)
	@rm -f $@; ar rcs $@ $^
$(B)/libsync.a: $(SYNC_OBJ)
	@rm -f $@; ar rcs $@ $^
$(B)/libnssscim.a: $(NSS_OBJ)
	@rm -f $@; ar rcs $@ $^
$(B)/libpamentra.a: $(PAM_OBJ)
	@rm -f $@; ar rcs $@ $^
$(B)/libauthd.a: $(AUTHD_OBJ)
	@rm -f $@; ar rcs $@ $^
$(B)/libhttpc.a: $(HTTPC_OBJ)
	@rm -f $@; ar rcs $@ $^

$(B)/entra-syncd: $(call obj,sync/syncd/syncd_main.c) $(B)/libsync.a $(B)/libhttpc.a $(B)/libcommon.a
	$(CC) $(LDFLAGS_ALL) -pie -o $@ $^ $(CLI_LIBS)
$(B)/entra-sync: $(call obj,sync/cli/cli_main.c) $(B)/libsync.a $(B)/libhttpc.a $(B)/libcommon.a
	$(CC) $(LDFLAGS_ALL) -pie -o $@ $^ $(CLI_LIBS)

$(B)/libnss_scim.so.2: $(NSS_OBJ) $(B)/libcommon.a nss_scim/nss_scim.sym
	$(CC) $(LDFLAGS_ALL) $(SO_DEFS) -shared -Wl,-soname,libnss_scim.so.2 -Wl,--version-script=nss_scim/nss_scim.sym \
		-o $@ $(NSS_OBJ) $(B)/libcommon.a $(NSS_LIBS)
$(B)/pam_entra.so: $(PAM_OBJ) $(B)/libcommon.a pam_entra/pam_entra.sym
	$(CC) $(LDFLAGS_ALL) $(SO_DEFS) -shared -Wl,--version-script=pam_entra/pam_entra.sym \
		-o $@ $(PAM_OBJ) $(B)/libcommon.a $(PAM_LIBS)

$(B)/entra-authd: $(call obj,$(AUTHD_MAIN)) $(B)/libauthd.a $(B)/libhttpc.a $(B)/libcommon.a
	$(CC) $(LDFLAGS_ALL) -pie -o $@ $^ $(AUTHD_LIBS)

ARCHIVES := $(B)/libsync.a $(B)/libauthd.a $(B)/libhttpc.a $(B)/libpamentra.a $(B)/libnssscim.a $(B)/libcommon.a
$(B)/tests/%: $(B)/obj/tests/unit/%.o $(ARCHIVES)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(ARCHIVES) $(TEST_LIBS)
$(B)/bench/%: $(B)/obj/tests/bench/%.o $(ARCHIVES)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(ARCHIVES) $(TEST_LIBS)
$(B)/tests/tools/%: $(B)/obj/tests/tools/%.o $(ARCHIVES)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(ARCHIVES) $(TEST_LIBS)

$(B)/fuzz/%: $(B)/obj/tests/fuzz/%.o $(ARCHIVES)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -fsanitize=fuzzer -o $@ $< $(ARCHIVES) $(TEST_LIBS)

fuzz-build:
	$(MAKE) FUZZ=1 $(patsubst tests/fuzz/%.c,build/fuzz/fuzz/%,$(FUZZ_SRC))

# Replays every corpus entry once: crashes found earlier stay fixed.
fuzz-regress: fuzz-build
	@for t in $(FUZZ_SRC); do n=$$(basename $$t .c); d=tests/fuzz/corpus/$${n#fuzz_}; \
		echo "== $$n: $$(ls $$d | wc -l) corpus entries"; \
		build/fuzz/fuzz/$$n -runs=0 $$d >/dev/null 2>build/fuzz/$$n.log || { cat build/fuzz/$$n.log; exit 1; }; \
	done; echo "fuzz-regress: every corpus replayed clean"

# Explores for FUZZ_SECONDS per target, growing a scratch corpus seeded from the repo's.
fuzz: fuzz-build
	@for t in $(FUZZ_SRC); do n=$$(basename $$t .c); d=tests/fuzz/corpus/$${n#fuzz_}; \
		mkdir -p build/fuzz/corpus-$$n; \
		build/fuzz/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			build/fuzz/corpus-$$n $$d 2>&1 | grep -E 'stat::number_of_executed_units|ERROR|SUMMARY' | sed "s/^/$$n: /"; \
	done

# Benchmarks run on the optimised build (never sanitized) and print ratios to baselines
# measured in the same run; `bench-smoke` is the one-second version make check runs.
bench: all $(BENCH_BINS)
	$(PYTHON) tests/bench/run.py --build $(abspath $(B)) --out $(B)/bench.json $(BENCH_ARGS)
bench-smoke: all $(BENCH_BINS)
	$(PYTHON) tests/bench/run.py --build $(abspath $(B)) --out $(B)/bench-smoke.json --smoke

# Debian packages needed to build and test; installed only when missing. tinyproxy-bin is the
# forward proxy the proxy tests start themselves (the tinyproxy package would also run a service).
DEB_BUILD := build-essential pkg-config libjansson-dev libmicrohttpd-dev libgnutls28-dev libcurl4-openssl-dev \
	libsqlite3-dev libssl-dev libpam0g-dev libsystemd-dev
DEB_TEST := libcmocka-dev python3-pytest python3-cryptography python3-paramiko pamtester \
	libpam-wrapper libnss-wrapper openssh-server openssh-client sqlite3 util-linux procps \
	libnss-cache clang clang-format libclang-rt-14-dev valgrind tinyproxy-bin debhelper lintian sudo \
	dbus-daemon python3-dbus python3-gi nginx-light
deps:
	@missing=$$(for p in $(DEB_BUILD) $(DEB_TEST); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing $$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "deps: run 'make deps' as root to install: $$missing" >&2; exit 1; fi; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: all build and test packages present"; fi

check: deps
	$(MAKE) SAN=1 all tests
	$(MAKE) all tests
	$(MAKE) layers
	$(MAKE) SAN=1 unit integration
	$(MAKE) fuzz-regress
	$(MAKE) bench-smoke
	@$(PYTHON) tests/check_summary.py build/san/unit.log build/san/integration.log

# Includes one way, no two files calling each other, no network library in the login modules,
# clang-format clean (tests/check_layers.py says which rule and where).
layers: all
	$(PYTHON) tests/check_layers.py $(B)

# Each suite's output is kept in $(B)/unit.log and $(B)/integration.log for the closing summary.
unit: $(UNIT_BINS)
	@set -o pipefail; fail=0; : > $(B)/unit.log; \
	for t in $(UNIT_BINS); do echo "== $$t"; $$t 2>&1 | tee -a $(B)/unit.log || fail=1; done; \
	if [ $$fail = 0 ]; then echo "unit: all cmocka suites passed"; else echo "unit: FAILED"; exit 1; fi

integration: all tests
	@set -o pipefail; ENTRA_BUILD=$(abspath $(B)) ENTRA_PLAIN_BUILD=$(abspath build) \
		$(PYTHON) -m pytest -p no:cacheprovider -ra tests/integration $(PYTEST_ARGS) 2>&1 | tee $(B)/integration.log

# Debian locations; the systemd, sysusers and tmpfiles paths are fixed by systemd, not PREFIX.
MANDIR ?= $(PREFIX)/share/man
SYSTEMDUNITDIR ?= /lib/systemd/system
SYSUSERSDIR ?= /usr/lib/sysusers.d
TMPFILESDIR ?= /usr/lib/tmpfiles.d
PAMCONFIGDIR ?= $(PREFIX)/share/pam-configs
SSHDCONFIGDIR ?= $(SYSCONFDIR)/ssh/sshd_config.d
install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PAMDIR)
	install -m 0755 $(B)/entra-syncd $(DESTDIR)$(PREFIX)/sbin/entra-syncd
	install -m 0755 $(B)/entra-sync $(DESTDIR)$(PREFIX)/bin/entra-sync
	install -m 0755 $(B)/entra-authd $(DESTDIR)$(PREFIX)/sbin/entra-authd
	install -m 0644 $(B)/libnss_scim.so.2 $(DESTDIR)$(LIBDIR)/libnss_scim.so.2
	install -m 0644 $(B)/pam_entra.so $(DESTDIR)$(PAMDIR)/pam_entra.so
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/entra
	install -m 0644 etc/entra.conf $(DESTDIR)$(SYSCONFDIR)/entra/entra.conf.example
	install -d $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 man/entra.conf.5 $(DESTDIR)$(MANDIR)/man5/entra.conf.5
	install -m 0644 man/entra-syncd.8 man/entra-sync.8 man/nss_scim.8 man/pam_entra.8 \
		man/entra-authd.8 $(DESTDIR)$(MANDIR)/man8/
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(PAMCONFIGDIR)
	install -m 0644 etc/systemd/entra-syncd.service $(DESTDIR)$(SYSTEMDUNITDIR)/entra-syncd.service
	install -m 0644 etc/systemd/entra-sessions.service $(DESTDIR)$(SYSTEMDUNITDIR)/entra-sessions.service
	install -m 0644 etc/systemd/entra-authd.service $(DESTDIR)$(SYSTEMDUNITDIR)/entra-authd.service
	install -m 0644 etc/systemd/entra-authd.socket $(DESTDIR)$(SYSTEMDUNITDIR)/entra-authd.socket
	install -m 0644 etc/sysusers.d/entra.conf $(DESTDIR)$(SYSUSERSDIR)/entra.conf
	install -m 0644 etc/tmpfiles.d/entra.conf $(DESTDIR)$(TMPFILESDIR)/entra.conf
	install -m 0644 etc/pam-configs/entra $(DESTDIR)$(PAMCONFIGDIR)/entra
	install -d $(DESTDIR)$(SSHDCONFIGDIR)
	install -m 0644 etc/ssh/sshd_config.d/50-entra.conf $(DESTDIR)$(SSHDCONFIGDIR)/50-entra.conf

# The whole job end to end in a private mount namespace; the host's /etc is never touched.
demo: deps all
	$(PYTHON) tests/demo/demo.py --build $(abspath $(B))

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find build -name '*.d' -type f -path '*/obj/*' 2>/dev/null)
