// fuzz.c — libFuzzer targets over the parsers of the formats stretch reads from other
// programs (make fuzz; make test runs each briefly on its seeds). One binary per target,
// chosen at build time by -DFUZZ_<name>; each hands the input to the function the product
// calls, as a file (a memfd, /proc/self/fd/N) or a run directory under /dev/shm:
//   shard        shard_load: llm.c token shards, both versions
//   llama2c      load_model: llama2.c legacy and v1 checkpoints
//   state        load_state: a stretch state (safetensors header, tensors, __metadata__)
//   hfconfig     model_config_from_json: a Hugging Face config.json (rope_scaling too)
//   gguf         load_gguf: a GGUF model
//   tokenizer    tokenizer_load (llama2.c .bin, GGUF tokenizer.ggml.*, tokenizer.json by
//                content), then an encode of a fixed text
//   config       config_load: a YAML config; lines "--set key=value" first are overrides
//   metrics      runlog_read: a run's metrics.jsonl
//   trainstate   checkpoint_read_state: a checkpoint's trainer_state.json
//   done         checkpoint_verify: a checkpoint's DONE list (beside two files it may name)
//   hfindex      load_hf_dir: model.safetensors.index.json of a sharded Hugging Face
//                directory (tests/fixtures/hf_tiny_sharded's config and shards beside it)
//   jsonl        corpus_next: JSONL lines (prepare's --field reader)
// A cleanly rejected input (die(): one line, exit 2 in the product) returns here through
// die_catch and counts as a pass; a failed CHECK aborts. Memory: what a rejected input
// still holds is what the product reclaims by exiting, so the harness frees it — the
// allocations made during the input are tracked with the sanitizer's malloc hooks, the
// streams opened with link-time wrappers (closed first), and descriptors closed — and an
// accepted input must free everything (checked by libFuzzer's -detect_leaks).
#define _GNU_SOURCE
#include "../../data/corpus.h"
#include "../../data/data.h"
#include "../../model/formats.h"
#include "../../trainer/checkpoint.h"
#include "../../trainer/config.h"
#include "../../trainer/report.h"
#include "../../util/util.h"

#include <sanitizer/allocator_interface.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

// ---- allocations live during one input (open addressing; hooks must not allocate) ------
#define LIVE_SLOTS ((size_t)1 << 20)
static const void *live[LIVE_SLOTS];
static uint32_t used[LIVE_SLOTS];                  // the slots taken since the input began
static size_t n_used;
static _Thread_local int tracking;                 // on the fuzzing thread only (libFuzzer's
                                                   // timer thread allocates too)

static size_t slot_of(const void *p) { return ((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull >> 44 & (LIVE_SLOTS - 1); }

static void on_malloc(const volatile void *p, size_t n) {
    (void)n;
    if (!tracking || !p) return;
    for (size_t i = slot_of((const void *)p), k = 0; k < LIVE_SLOTS; i = (i + 1) & (LIVE_SLOTS - 1), k++)
        if (!live[i] || live[i] == (const void *)1) {
            if (!live[i]) used[n_used++] = (uint32_t)i;
            live[i] = (const void *)p;
            return;
        }
}

static void on_free(const volatile void *p) {
    if (!tracking || !p) return;
    for (size_t i = slot_of((const void *)p), k = 0; live[i] && k < LIVE_SLOTS; i = (i + 1) & (LIVE_SLOTS - 1), k++)
        if (live[i] == (const void *)p) {
            live[i] = (const void *)1;               // a tombstone keeps the probe chains whole
            return;
        }
}

// Streams opened during the input (the fuzz binaries link with --wrap for these), so that
// a rejected input's are closed before its memory is freed.
#define MAX_FILES 256
static FILE *files[MAX_FILES];
static int n_files;
FILE *__real_fopen(const char *path, const char *mode);
FILE *__real_fdopen(int fd, const char *mode);
FILE *__real_tmpfile(void);
FILE *__real_open_memstream(char **buf, size_t *len);
int __real_fclose(FILE *f);

static FILE *opened(FILE *f) {
    if (f && tracking && n_files < MAX_FILES) files[n_files++] = f;
    return f;
}
FILE *__wrap_fopen(const char *path, const char *mode) { return opened(__real_fopen(path, mode)); }
FILE *__wrap_fdopen(int fd, const char *mode) { return opened(__real_fdopen(fd, mode)); }
FILE *__wrap_tmpfile(void) { return opened(__real_tmpfile()); }
FILE *__wrap_open_memstream(char **buf, size_t *len) { return opened(__real_open_memstream(buf, len)); }
int __wrap_fclose(FILE *f) {
    for (int i = 0; i < n_files; i++)
        if (files[i] == f) files[i] = files[--n_files];
    return __real_fclose(f);
}

// forget: the input's allocations leave the table; rejected: its streams are closed and
// what it still holds is freed first (what the product's exit would reclaim).
static void forget(int rejected) {
    while (rejected && n_files > 0) __wrap_fclose(files[n_files - 1]);
    n_files = 0;
    tracking = 0;
    for (size_t k = 0; k < n_used; k++) {
        const size_t i = used[k];
        if (rejected && live[i] && live[i] != (const void *)1) free((void *)live[i]);
        live[i] = NULL;
    }
    n_used = 0;
}

// ---- the targets ---------------------------------------------------------------------
static char dir[64];                               // a run directory of this process under /dev/shm

static void put_file(const char *name, const uint8_t *data, size_t n) {
    char *p = path_join(dir, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f)) abort();
    free(p);
}

// load_positioned: a model loader that also reads a position scheme (state, GGUF).
static inline void load_positioned(void (*load)(Model *, const char *, Position *), const char *path) {
    Model m;
    Position pos;
    position_default(&pos);
    load(&m, path, &pos);
    model_free(&m);
}

static void target(const char *path, const uint8_t *data, size_t n) {
#if defined(FUZZ_shard)
    (void)data, (void)n;
    Shard s;
    shard_load(&s, path, 1 << 20);
    shard_free(&s);
#elif defined(FUZZ_llama2c)
    (void)data, (void)n;
    Model m;
    load_model(&m, path);
    model_free(&m);
#elif defined(FUZZ_state)
    (void)data, (void)n;
    load_positioned(load_state, path);
#elif defined(FUZZ_gguf)
    (void)data, (void)n;
    load_positioned(load_gguf, path);
#elif defined(FUZZ_hfindex)
    (void)path;
    put_file("model.safetensors.index.json", data, n);
    Model m;
    Position pos;
    position_default(&pos);
    load_hf_dir(&m, dir, &pos);
    model_free(&m);
#elif defined(FUZZ_done)
    (void)path;
    put_file("DONE", data, n);
    char err[256];
    checkpoint_verify(dir, err, sizeof err);
#elif defined(FUZZ_hfconfig)
    (void)path;
    char *json = xmalloc(n + 1);
    memcpy(json, data, n);
    json[n] = 0;
    ModelConfig c;
    RopeLayout layout;
    model_config_from_json(&c, &layout, json, "config.json");
    free(json);
#elif defined(FUZZ_tokenizer)
    (void)data, (void)n;
    Tokenizer t;
    tokenizer_load(&t, path);
    size_t k;
    free(tokenizer_encode(&t, NULL, "Once upon a time, 12 caf\xc3\xa9s \xf0\x9f\x98\x80 <s> \xff end.", 1, &k));
    tokenizer_free(&t);
#elif defined(FUZZ_config)
    (void)path;
    char *text = xmalloc(n + 1), *sets[8], *p = text;
    memcpy(text, data, n);
    text[n] = 0;
    int n_sets = 0;
    while (n_sets < 8 && !strncmp(p, "--set ", 6) && strchr(p, '\n')) {   // leading override lines
        char *e = strchr(p, '\n');
        *e = 0;
        sets[n_sets++] = p + 6;
        p = e + 1;
    }
    put_file("config.yaml", (const uint8_t *)p, strlen(p));
    char *cfg = path_join(dir, "config.yaml");
    Config *c = xmalloc(sizeof *c);
    config_load(c, cfg, sets, n_sets);
    free(c);
    free(cfg);
    free(text);
#elif defined(FUZZ_metrics)
    (void)path;
    put_file("metrics.jsonl", data, n);
    RunLog r;
    runlog_read(&r, dir);
    runlog_free(&r);
#elif defined(FUZZ_trainstate)
    (void)path;
    put_file("trainer_state.json", data, n);
    TrainState ts;
    checkpoint_read_state(dir, &ts);
#elif defined(FUZZ_jsonl)
    (void)data, (void)n;
    const char *files[1] = {path};
    const CorpusOptions o = {.format = CORPUS_JSONL, .field = "text"};
    Corpus c;
    corpus_open(&c, files, 1, &o);
    Doc d;
    while (corpus_next(&c, &d)) {}
    corpus_free(&c);
#else
#error "build with -DFUZZ_<target>"
#endif
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
    snprintf(dir, sizeof dir, "/dev/shm/stretch_fuzz_%d", (int)getpid());
    mkdir(dir, 0700);
#if defined(FUZZ_hfindex)                          // a sharded Hugging Face directory around the index
    static const char *const files[] = {"config.json", "model-00001-of-00002.safetensors",
                                        "model-00002-of-00002.safetensors"};
    for (int i = 0; i < 3; i++) {
        char src[128];
        snprintf(src, sizeof src, "tests/fixtures/hf_tiny_sharded/%s", files[i]);
        size_t len;
        char *bytes = read_file(src, &len);
        put_file(files[i], (const uint8_t *)bytes, len);
        free(bytes);
    }
#elif defined(FUZZ_done)                           // two files a DONE may list
    put_file("config.yaml", (const uint8_t *)"run: {name: x}\n", 15);
    put_file("trainer_state.json", (const uint8_t *)"{}\n", 3);
#endif
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    const int fd = memfd_create("input", MFD_CLOEXEC);
    if (fd < 0 || (n && write(fd, data, n) != (ssize_t)n)) abort();
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    const int mark = dup(fd);                      // the lowest descriptor the input may open
    close(mark);
    jmp_buf jb;
    tracking = 1;
    if (!setjmp(jb)) {
        die_catch(&jb);
        target(path, data, n);
        die_catch(NULL);
        forget(0);
    } else {                                       // rejected: what the product's exit would free
        die_catch(NULL);
        forget(1);
        for (int f = mark; f < mark + 64; f++)
            if (f != fd) close(f);
    }
    close(fd);
    return 0;
}
