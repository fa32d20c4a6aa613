// util.h — always-on error checks, checked allocation and I/O, timing, a seeded RNG.
// Every user-facing failure goes through die(): one line "stretch: <what>" (plus the
// source file:line in the message prefix of CHECK), exit code 2. assert() is kept for
// internal invariants only.
#ifndef STRETCH_UTIL_H
#define STRETCH_UTIL_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define EXIT_USER 2   // exit code for every user mistake (bad file, bad config, bad flag)

// die: print "stretch: <fmt>" and exit(EXIT_USER). Never returns.
#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 1, 2)))
#endif
void die(const char *fmt, ...);

// die_set_rank: this process's rank in a multi-rank run (dist_init): die() and CHECK on
// a rank other than 0 name it and print only after a few seconds, so that an error every
// rank meets is printed once, by rank 0 (mpirun ends the other ranks when one exits).
void die_set_rank(int rank);
// die_catch: for the fuzz harnesses (tests/fuzz/fuzz.c): with jb set, die() prints nothing
// and longjmps to *jb (a cleanly rejected input), and a failed CHECK aborts (a bug, which
// the fuzzer reports); NULL restores printing and exit(EXIT_USER).
void die_catch(jmp_buf *jb);
// defer_to_rank0: on a rank other than 0, wait those few seconds (before exiting with an
// error that every rank meets and rank 0 reports); returns at once on rank 0.
void defer_to_rank0(void);

// CHECK(cond, fmt, ...): always on; on failure prints the message with the C file:line
// that detected it and a hint, and exits with EXIT_USER.
#define CHECK(cond, ...) \
    do { if (!(cond)) check_fail(__FILE__, __LINE__, __VA_ARGS__); } while (0)
#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 3, 4)))
#endif
void check_fail(const char *file, int line, const char *fmt, ...);

#define xmalloc(n)     xmalloc_at((n), __FILE__, __LINE__)
#define xcalloc(n, s)  xcalloc_at((n), (s), __FILE__, __LINE__)
#define xrealloc(p, n) xrealloc_at((p), (n), __FILE__, __LINE__)
void *xmalloc_at(size_t n, const char *file, int line);
void *xcalloc_at(size_t n, size_t size, const char *file, int line);
void *xrealloc_at(void *p, size_t n, const char *file, int line);
char *xstrdup(const char *s);

// xfopen: fopen or die naming the path and the OS reason.
FILE *xfopen(const char *path, const char *mode);
// xfread: read exactly n bytes or die naming `path` and `what` ("truncated: ...").
void xfread(void *dst, size_t n, FILE *f, const char *path, const char *what);
void xfwrite(const void *src, size_t n, FILE *f, const char *path);
// fault_at: STRETCH_FAULT is "<point>:<k>" (a named fault-injection point of the tests:
// checkpoint.c's kills, train.c's NaN weight).
int fault_at(const char *point, long long k);
// fault_write: the fault-injection point of every xfwrite, fsync_path and rename_path:
// STRETCH_FAULT=kill-at-write:N kills the process with SIGKILL at the N-th (from 1), an
// instant inside a save (tests/test_faults.sh); STRETCH_FAULT=count-writes prints their
// count at exit; a no-op otherwise.
void fault_write(void);
// file_size: size in bytes of an open file (seeks back to the start).
size_t file_size(FILE *f, const char *path);
// read_file: whole file into a NUL-terminated buffer; *len gets the byte count.
char *read_file(const char *path, size_t *len);
// utf8_len: the bytes of the (valid) UTF-8 character that starts with byte s[0].
size_t utf8_len(const char *s);
// read_stream: the rest of a stream (a pipe: no size known) into a NUL-terminated buffer;
// *len gets the byte count; `name` names it in errors.
char *read_stream(FILE *f, const char *name, size_t *len);
int file_exists(const char *path);
// make_dirs: mkdir -p; dies on failure.
void make_dirs(const char *path);
// path_join: "<a>/<b>" into a new buffer.
char *path_join(const char *a, const char *b);
// with_suffix: "<path><suffix>" into a new buffer (e.g. the .tmp a file is written to
// before it is renamed over path).
char *with_suffix(const char *path, const char *suffix);

// nearest: of names[0, n), the one closest to s by edit distance (Levenshtein, over
// bytes), when it is close enough to be a likely typo (at most 2 edits, or a third of
// s's length); else NULL. For "did you mean" hints.
const char *nearest(const char *s, const char *const *names, size_t n);
// wants_help: argv (a subcommand's arguments) holds -h or --help.
int wants_help(int argc, char **argv);

// appendf: printf at buf + *n within cap bytes in all, adding to *n what was (or would
// have been) written: *n >= cap afterwards means the text did not fit.
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
void appendf(char *buf, size_t cap, size_t *n, const char *fmt, ...);

double now_seconds(void);

// Rng: splitmix64, a tiny reproducible generator whose whole state is one uint64
// (so checkpoints can save it).
typedef struct { uint64_t s; } Rng;
uint64_t rng_u64(Rng *r);
double rng_uniform(Rng *r);                 // [0, 1)
float rng_normal(Rng *r);                   // N(0, 1), Box-Muller
size_t rng_below(Rng *r, size_t n);         // uniform in [0, n), n > 0

// fp16/bf16 -> fp32 (IEEE 754 binary16 with subnormals, inf, nan; bfloat16 = top half).
float f16_to_f32(uint16_t h);
float bf16_to_f32(uint16_t h);
// f32_to_f16: fp32 -> IEEE binary16, round to nearest even (overflow to inf, subnormals kept).
uint16_t f32_to_f16(float x);

#endif
