// check.h — the one test harness of the C tests: counters, comparisons against a
// reference with |a - ref| <= atol + rtol * |ref|, and the closing line that
// tests/run_all.sh and CI read ("<suite>: N passed, M failed"). Header-only: every test
// is one program, so the counters are static to it.
//
//   CHECK_CLOSE("what", got, ref, atol, rtol);   a number against its reference
//   CHECK_TRUE("what", cond);                    a property
//   CHECK_EQ("what", got, want);                 exact (integers, bit patterns)
//   CHECK_STR("what", got, want);                two strings equal (both printed)
//   check_report(ok, "what", got, ref);          a check decided by the test itself (a
//                                                whole tensor, several conditions), with
//                                                the two numbers that best show it
//   check_within(got, ref, atol, rtol)           the tolerance test alone (counts nothing)
//   check_what("fmt", ...)                       a printf-formatted what-string
//   return check_done("test_name");              prints the closing line; exit code
#ifndef STRETCH_CHECK_H
#define STRETCH_CHECK_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int check_passed = 0, check_failed = 0;

// check_report: count one check and print one line: "ok" or "FAIL" with the values.
static inline int check_report(int ok, const char *what, double got, double ref) {
    if (ok) check_passed++;
    else check_failed++;
    printf("%-64s %s  (%.9g vs %.9g)\n", what, ok ? "ok" : "FAIL", got, ref);
    fflush(stdout);
    return ok;
}

// check_within: |got - ref| <= atol + rtol * |ref| (NaN never passes); counts nothing.
static inline int check_within(double got, double ref, double atol, double rtol) {
    return fabs(got - ref) <= atol + rtol * fabs(ref);
}

// check_close: check_within, counted and printed.
static inline int check_close(const char *what, double got, double ref, double atol, double rtol) {
    return check_report(check_within(got, ref, atol, rtol), what, got, ref);
}

// check_str: count one check of strcmp(got, want) == 0; prints both strings.
static inline int check_str(const char *what, const char *got, const char *want) {
    const int ok = !strcmp(got, want);
    if (ok) check_passed++;
    else check_failed++;
    printf("%-64s %s  (\"%s\" vs \"%s\")\n", what, ok ? "ok" : "FAIL", got, want);
    fflush(stdout);
    return ok;
}

// check_what: a what-string from a printf format, in a static buffer that the next call
// overwrites (use it as an argument of one check).
__attribute__((format(printf, 1, 2)))
static inline const char *check_what(const char *fmt, ...) {
    static char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return buf;
}

#define CHECK_CLOSE(what, got, ref, atol, rtol) check_close((what), (double)(got), (double)(ref), (atol), (rtol))
#define CHECK_TRUE(what, cond) check_report(!!(cond), (what), (double)!!(cond), 1.0)
#define CHECK_EQ(what, got, want) check_report((got) == (want), (what), (double)(got), (double)(want))
#define CHECK_STR(what, got, want) check_str((what), (got), (want))

// check_done: the closing line "<name>: N passed, M failed"; returns the exit code.
static inline int check_done(const char *name) {
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
