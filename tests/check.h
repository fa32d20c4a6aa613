// check.h — the one test harness of the C tests: counters, comparisons against a
// reference with |a - ref| <= atol + rtol * |ref|, and the closing line that
// tests/run_all.sh and CI read ("<suite>: N passed, M failed"). Header-only: every test
// is one program, so the counters are static to it.
//
//   CHECK_CLOSE("what", got, ref, atol, rtol);   a number against its reference
//   CHECK_TRUE("what", cond);                    a property
//   CHECK_EQ("what", got, want);                 exact (integers, bit patterns)
//   return check_done("test_name");              prints the closing line; exit code
#ifndef STRETCH_CHECK_H
#define STRETCH_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_passed = 0, check_failed = 0;

// check_report: count one check and print one line: "ok" or "FAIL" with the values.
static inline int check_report(int ok, const char *what, double got, double ref) {
    if (ok) check_passed++;
    else check_failed++;
    printf("%-64s %s  (%.9g vs %.9g)\n", what, ok ? "ok" : "FAIL", got, ref);
    fflush(stdout);
    return ok;
}

// check_close: |got - ref| <= atol + rtol * |ref| (NaN never passes).
static inline int check_close(const char *what, double got, double ref, double atol, double rtol) {
    return check_report(fabs(got - ref) <= atol + rtol * fabs(ref), what, got, ref);
}

#define CHECK_CLOSE(what, got, ref, atol, rtol) check_close((what), (double)(got), (double)(ref), (atol), (rtol))
#define CHECK_TRUE(what, cond) check_report(!!(cond), (what), (double)!!(cond), 1.0)
#define CHECK_EQ(what, got, want) check_report((got) == (want), (what), (double)(got), (double)(want))

// check_done: the closing line "<name>: N passed, M failed"; returns the exit code.
static inline int check_done(const char *name) {
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
