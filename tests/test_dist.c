// test_dist.c — dist/dist.c's exchanges on the ranks of `mpirun -np N` (N = 1 without
// mpirun), built with DIST_MSG_MAX = 4 and DIST_SCRATCH_MAX = 8 floats so that every
// transfer is cut into pieces and parts of unequal length need empty messages. Each
// rank builds every rank's array from a seed, so the expected results are computed
// locally, in the order the contract promises:
//   - dist_reduce_scatter_f32: this rank's part = x_0 + x_1 + ... + x_{N-1} added in rank
//     order, bit for bit; the other parts untouched;
//   - dist_allgather_f32: every part from its owner, bit for bit;
//   - dist_gather_f32: on rank 0 every rank's part, bit for bit;
//   - dist_sum_f64 in rank order; dist_max_int; dist_bcast_str.
// Lengths n from 1 to 40 (parts of 0 to 10 floats, pieces of 4 and of 8 / (N - 1)).
// Exit 1 on any failure, on every rank.
#include "../dist/dist.h"
#include "../util/util.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

// value: element i of rank f's array for length n (exactly representable halves).
static float value(int f, size_t i, size_t n) { return (float)((f * 37 + (int)i * 11 + (int)n) % 97) * 0.5f - 20.0f; }

static int check_n(size_t n) {
    const int N = dist_size(), r = dist_rank();
    size_t *part = xmalloc((size_t)(N + 1) * sizeof *part);
    dist_split(n, N, part);
    float *x = xmalloc(n * sizeof *x), *scratch = xmalloc(dist_reduce_scatter_floats(part) * sizeof *scratch + 1);
    for (size_t i = 0; i < n; i++) x[i] = value(r, i, n);
    dist_reduce_scatter_f32(x, part, scratch);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        float want = value(r, i, n);
        if (i >= part[r] && i < part[r + 1]) {
            want = 0.0f;
            for (int f = 0; f < N; f++) want += value(f, i, n);
        }
        bad += memcmp(&x[i], &want, sizeof want) != 0;
    }
    for (size_t i = 0; i < n; i++) x[i] = i >= part[r] && i < part[r + 1] ? value(r, i, n) : -1.0f;
    dist_allgather_f32(x, part);
    for (int f = 0; f < N; f++)
        for (size_t i = part[f]; i < part[f + 1]; i++) bad += x[i] != value(f, i, n);
    float *own = xmalloc((part[r + 1] - part[r] + 1) * sizeof *own), *all = xmalloc(n * sizeof *all);
    for (size_t i = part[r]; i < part[r + 1]; i++) own[i - part[r]] = value(r, i, n) + 1.0f;
    dist_gather_f32(all, own, part);
    for (int f = 0; r == 0 && f < N; f++)
        for (size_t i = part[f]; i < part[f + 1]; i++) bad += all[i] != value(f, i, n) + 1.0f;
    free(part), free(x), free(scratch), free(own), free(all);
    return bad;
}

int main(int argc, char **argv) {
    dist_init(&argc, &argv);
    const int N = dist_size(), r = dist_rank();
    int bad = 0;
    for (size_t n = 1; n <= 40; n++) bad += check_n(n);
    bad = dist_max_int(bad);
    CHECK_TRUE("reduce-scatter (rank order, bit for bit), all-gather, gather: n = 1 .. 40 in pieces of 4", bad == 0);
    double s[3] = {0.1 * (r + 1), 1e16 * (r % 2 ? -1 : 1), (double)r}, want[3] = {0, 0, 0};
    for (int f = 0; f < N; f++) want[0] += 0.1 * (f + 1), want[1] += 1e16 * (f % 2 ? -1 : 1), want[2] += f;
    dist_sum_f64(s, 3);
    CHECK_TRUE("dist_sum_f64: rank order, bit for bit", dist_max_int(memcmp(s, want, sizeof s) != 0) == 0);
    CHECK_TRUE("dist_max_int", dist_max_int(r * 3 + 1) == (N - 1) * 3 + 1);
    char text[] = "the resumed checkpoint", *got = dist_bcast_str(r == 0 ? text : NULL, 0);
    CHECK_TRUE("dist_bcast_str: rank 0's string on every rank", dist_max_int(!got || strcmp(got, text) != 0) == 0);
    if (r > 0) free(got);
    printf("on %d ranks\n", N);
    const int rc = check_done("test_dist");
    dist_finalize();
    return rc;
}
