# Berth: one non-recursive Makefile for every program, test and tool.
#   make                 build everything into $(B)
#   make run             quick start: private PostgreSQL under ./var, registryd on :5000
#   make test            unit + integration tests (closing line "N passed, N failed")
#   make B=build-asan SANITIZE=address,undefined test
B        ?= build
CC       ?= gcc
SANITIZE ?=
WARN      = -Wall -Wextra -Wpedantic -Wshadow -Wvla -Wwrite-strings \
	    -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Werror
CFLAGS   ?= -O2 -g
PKGS      = libmicrohttpd gnutls libpq jansson libcrypto libargon2 libcurl ldap \
	    libxml-2.0
ALL_CFLAGS = -std=c17 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Ilib -Iregistryd -Iauthd \
	     $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -MMD -MP
LDLIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread
ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS    += -fsanitize=$(SANITIZE)
endif

LIB_SRC   = $(wildcard lib/*.c)
REG_SRC   = $(filter-out registryd/main.c,$(wildcard registryd/*.c))
AUTH_SRC  = $(filter-out authd/main.c,$(wildcard authd/*.c))
UNIT_SRC  = $(wildcard tests/unit/*.c)
SCHEMA    = $(sort $(wildcard schema/*.sql))

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

# The version (VERSION) and commit reach lib/version.c alone, as -D defines.
# The stamp changes only when they do, so a new commit recompiles one file
# and relinks, even in an incremental build. Outside a git checkout (a
# release tarball) the commit is "unknown".
VERSION := $(or $(shell tr -cd '0-9A-Za-z.+~-' <VERSION 2>/dev/null),unknown)
COMMIT  := $(or $(shell test -e .git && git rev-parse --short HEAD 2>/dev/null),unknown)

all: $(B)/registryd $(B)/authd $(B)/berthctl $(B)/unit $(B)/slowconn

include tests/fuzz/fuzz.mk

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -c -o $@ $<

# Migrations are compiled into the binary so that a node carries its schema.
$(B)/gen/schema_embed.c: $(SCHEMA) scripts/embed-schema.sh
	@mkdir -p $(dir $@)
	sh scripts/embed-schema.sh $(SCHEMA) > $@
$(B)/obj/gen/schema_embed.o: $(B)/gen/schema_embed.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -Wno-overlength-strings -c -o $@ $<

$(B)/gen/version.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(VERSION) $(COMMIT)' | cmp -s - $@ 2>/dev/null || \
		echo '$(VERSION) $(COMMIT)' >$@
$(B)/obj/lib/version.o: $(B)/gen/version.stamp
$(B)/obj/lib/version.o: ALL_CFLAGS += -DBERTH_VERSION='"$(VERSION)"' \
	-DBERTH_COMMIT='"$(COMMIT)"'

$(B)/libberth.a: $(call obj,$(LIB_SRC)) $(B)/obj/gen/schema_embed.o
	rm -f $@ && ar rcs $@ $^
$(B)/registryd.a: $(call obj,$(REG_SRC))
	rm -f $@ && ar rcs $@ $^
$(B)/authd.a: $(call obj,$(AUTH_SRC))
	rm -f $@ && ar rcs $@ $^

$(B)/registryd: $(call obj,registryd/main.c) $(B)/registryd.a $(B)/libberth.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(B)/authd: $(call obj,authd/main.c) $(B)/authd.a $(B)/libberth.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(B)/berthctl: $(call obj,berthctl/berthctl.c) $(B)/libberth.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(B)/unit: $(call obj,$(UNIT_SRC)) $(B)/registryd.a $(B)/authd.a $(B)/libberth.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The slow-client attack for tests/integration/t_slowloris.sh.
$(B)/slowconn: $(B)/obj/tests/tools/slowconn.o
	$(CC) $(LDFLAGS) -o $@ $^

deps:
	@sh scripts/deps.sh

# deps installs the build libraries, so it runs to completion before any
# compile starts, even under make -j.
test: deps
	@$(MAKE) --no-print-directory all $(FUZZ_REPLAY)
	@sh tests/run-all.sh $(B)

run: deps
	@$(MAKE) --no-print-directory all
	@sh scripts/run.sh $(B)

bench: deps
	@$(MAKE) --no-print-directory all
	@sh bench/run.sh $(B)

fmt:
	clang-format -i lib/*.[ch] registryd/*.[ch] authd/*.[ch] berthctl/*.c tests/unit/*.[ch]

clean:
	rm -rf $(B) build-asan

.PHONY: all deps test run bench fmt clean FORCE
FORCE:
-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
