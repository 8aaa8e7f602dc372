# Fuzzing, included by the top Makefile.
#
# $(FUZZ_REPLAY) are gcc builds of each target with replay.c in place of
# libFuzzer: `make test` runs them over tests/fuzz/corpus/<name>/, so every
# input that once crashed stays fixed (with SANITIZE= they run sanitized).
#
# `make fuzz` builds the same targets with clang and libFuzzer, ASan and
# UBSan, then fuzzes each for FUZZ_TIME seconds. New inputs go to
# $(B)/fuzz/corpus-<name> (not the committed seed corpus); crashes are
# written as $(B)/fuzz/crash-<name>-*. Copy a crash into the seed corpus
# once it is fixed.

FUZZ_NAMES  = manifest digest jwt reference logline
FUZZ_REPLAY = $(B)/fuzz-replay-manifest $(B)/fuzz-replay-digest \
	      $(B)/fuzz-replay-jwt $(B)/fuzz-replay-reference \
	      $(B)/fuzz-replay-logline
FUZZ_TIME  ?= 60
FUZZ_CC    ?= clang
FUZZ_DIR    = $(B)/fuzz
FUZZ_SAN    = address,undefined
# No -Werror: a warning only clang gives must not stop a fuzzing run.
FUZZ_CFLAGS = -std=c17 -D_GNU_SOURCE -g -O1 -Ilib -Iregistryd -Iauthd \
	      $(filter-out -Werror,$(WARN)) \
	      $(shell pkg-config --cflags $(PKGS) 2>/dev/null) \
	      -fsanitize=fuzzer-no-link,$(FUZZ_SAN) \
	      -fno-sanitize-recover=all -fno-omit-frame-pointer -MMD -MP

fuzz_obj = $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(1))

$(B)/fuzz-replay-manifest: $(call obj,tests/fuzz/replay.c \
			   tests/fuzz/fuzz_manifest.c) \
			   $(B)/registryd.a $(B)/libberth.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/fuzz-replay-digest: $(call obj,tests/fuzz/replay.c \
			 tests/fuzz/fuzz_digest.c) \
			 $(B)/registryd.a $(B)/libberth.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/fuzz-replay-jwt: $(call obj,tests/fuzz/replay.c \
		      tests/fuzz/fuzz_jwt.c) \
		      $(B)/registryd.a $(B)/libberth.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/fuzz-replay-reference: $(call obj,tests/fuzz/replay.c \
			    tests/fuzz/fuzz_reference.c) \
			    $(B)/authd.a $(B)/registryd.a $(B)/libberth.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/fuzz-replay-logline: $(call obj,tests/fuzz/replay.c \
			  tests/fuzz/fuzz_logline.c) $(B)/libberth.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Replays the seed corpus; `make test` can depend on this.
fuzz-replay: $(FUZZ_REPLAY)
	$(B)/fuzz-replay-manifest tests/fuzz/corpus/manifest
	$(B)/fuzz-replay-digest tests/fuzz/corpus/digest
	$(B)/fuzz-replay-jwt tests/fuzz/corpus/jwt
	$(B)/fuzz-replay-reference tests/fuzz/corpus/reference
	$(B)/fuzz-replay-logline tests/fuzz/corpus/logline

# clang and the libFuzzer runtime are only needed here, so only this
# target installs them.
fuzz-tools:
	@rt="$$($(FUZZ_CC) -print-resource-dir 2>/dev/null)/lib/linux"; \
	rt="$$rt/libclang_rt.fuzzer-$$(uname -m).a"; \
	if ! command -v $(FUZZ_CC) >/dev/null 2>&1 || [ ! -f "$$rt" ]; then \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get update && \
		$$sudo apt-get install -y clang libclang-rt-14-dev; \
	fi

$(FUZZ_DIR)/obj/%.o: %.c | fuzz-tools
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<
$(FUZZ_DIR)/obj/gen/schema_embed.o: $(B)/gen/schema_embed.c | fuzz-tools
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/libberth.a: $(call fuzz_obj,$(LIB_SRC)) \
			$(FUZZ_DIR)/obj/gen/schema_embed.o
	ar rcs $@ $^
$(FUZZ_DIR)/registryd.a: $(call fuzz_obj,$(REG_SRC))
	ar rcs $@ $^
$(FUZZ_DIR)/authd.a: $(call fuzz_obj,$(AUTH_SRC))
	ar rcs $@ $^

$(FUZZ_DIR)/fuzz-%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_DIR)/authd.a \
		    $(FUZZ_DIR)/registryd.a $(FUZZ_DIR)/libberth.a
	$(FUZZ_CC) -fsanitize=fuzzer,$(FUZZ_SAN) -o $@ $^ $(LDLIBS)

fuzz: $(foreach n,$(FUZZ_NAMES),$(FUZZ_DIR)/fuzz-$(n))
	@for n in $(FUZZ_NAMES); do \
		mkdir -p $(FUZZ_DIR)/corpus-$$n || exit 1; \
		dict=; [ -f tests/fuzz/$$n.dict ] && \
			dict=-dict=tests/fuzz/$$n.dict; \
		echo "fuzzing $$n for $(FUZZ_TIME)s"; \
		$(FUZZ_DIR)/fuzz-$$n -max_total_time=$(FUZZ_TIME) \
			-timeout=10 -rss_limit_mb=2048 $$dict \
			-artifact_prefix=$(FUZZ_DIR)/crash-$$n- \
			$(FUZZ_DIR)/corpus-$$n tests/fuzz/corpus/$$n || \
			exit 1; \
	done

.PHONY: fuzz fuzz-replay fuzz-tools
.PRECIOUS: $(FUZZ_DIR)/obj/%.o
-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)
