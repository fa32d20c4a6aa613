// dist.c — see dist.h. Built with -DSTRETCH_MPI (make's default) it speaks MPI; without,
// every function is its one-process case, which is also what an MPI build does when
// mpirun did not start it.
//
// The reductions move data point to point in rounds: in round k = 1 .. N-1, rank r sends
// to rank r + k and receives from rank r - k (mod N), so every pair exchanges once, each
// rank sends and receives (N-1)/N of the buffer in all (the volume of a ring
// reduce-scatter or all-gather), and the receiver adds what it got in rank order.
#define _POSIX_C_SOURCE 200809L
#include "dist.h"
#include "../util/util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef STRETCH_MPI
#include <mpi.h>
#endif

static int g_rank = 0, g_size = 1, g_launched = 0;
static double *g_small;                 // (size, DIST_SMALL_MAX) gathered partial sums
static int g_ring_size = 1, g_ring_rank = 0;
static double g_wait = 0.0;             // seconds spent in MPI calls that wait on other ranks

double dist_wait_seconds(void) { return g_wait; }
#ifdef STRETCH_MPI
#define RING_REQS 64                    // requests of the shifts in flight at once
static MPI_Comm g_ring = MPI_COMM_NULL;
static MPI_Request g_req[RING_REQS];
static int g_nreq = 0;
#endif

int dist_rank(void) { return g_rank; }
int dist_size(void) { return g_size; }
int dist_launched(void) { return g_launched; }

void dist_split(size_t n, int size, size_t *part) {
    const size_t q = n / (size_t)size, extra = n % (size_t)size;
    part[0] = 0;
    for (int r = 0; r < size; r++) part[r + 1] = part[r] + q + ((size_t)r < extra);
}

#ifdef STRETCH_MPI
// launched_by_mpirun: the variables OpenMPI (and PMIx / Hydra launchers) set in each rank.
static int launched_by_mpirun(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

#define MPI_OK(call) CHECK((call) == MPI_SUCCESS, "MPI call failed: %s", #call)

// exchange: one message each way: n floats at `out` to rank `to`, n_in floats from rank
// `from` into `in` (either may be 0: a message is still sent, so both sides of a pair
// always run the same number of rounds).
static void exchange(const float *out, size_t n, int to, float *in, size_t n_in, int from) {
    const double t0 = now_seconds();
    MPI_OK(MPI_Sendrecv(out, (int)n, MPI_FLOAT, to, 7, in, (int)n_in, MPI_FLOAT, from, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
    g_wait += now_seconds() - t0;
}

// piece: the floats [*a, return) of piece c (pieces of `size` floats) of part p of the
// flat array; empty past the part's end.
static size_t piece(const size_t *part, int p, size_t c, size_t size, size_t *a) {
    const size_t lo = part[p] + c * size, end = part[p + 1];
    *a = lo < end ? lo : end;
    return lo + size < end ? lo + size : end;
}

// max_over: the largest x over the `size` ranks of comm.
static int max_over(int x, MPI_Comm comm, int size) {
    const double t0 = now_seconds();
    if (size > 1) MPI_OK(MPI_Allreduce(MPI_IN_PLACE, &x, 1, MPI_INT, MPI_MAX, comm));
    g_wait += now_seconds() - t0;
    return x;
}
#endif

void dist_init(int *argc, char ***argv) {
#ifdef STRETCH_MPI
    if (launched_by_mpirun()) {
        int level;                          // MPI is called from the main thread only, outside OpenMP regions
        MPI_OK(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &level));
        CHECK(level >= MPI_THREAD_FUNNELED, "this MPI library does not support MPI_THREAD_FUNNELED");
        MPI_OK(MPI_Comm_rank(MPI_COMM_WORLD, &g_rank));
        MPI_OK(MPI_Comm_size(MPI_COMM_WORLD, &g_size));
        g_launched = 1;
    }
#else
    (void)argc;
    (void)argv;
#endif
    g_small = xmalloc((size_t)g_size * DIST_SMALL_MAX * sizeof *g_small);
    die_set_rank(g_rank);
    if (g_rank > 0 && !freopen("/dev/null", "w", stdout)) die("rank %d: cannot send its output to /dev/null", g_rank);
}

void dist_finalize(void) {
#ifdef STRETCH_MPI
    if (g_ring != MPI_COMM_NULL) MPI_Comm_free(&g_ring);
    if (g_launched) MPI_Finalize();
#endif
    free(g_small);
    g_small = NULL;
}

void dist_barrier(void) {
#ifdef STRETCH_MPI
    if (g_launched) MPI_OK(MPI_Barrier(MPI_COMM_WORLD));
#endif
}

void dist_bcast(void *buf, size_t bytes, int root) {
#ifdef STRETCH_MPI
    for (size_t o = 0; g_size > 1 && o < bytes; o += DIST_MSG_MAX) {
        const size_t n = bytes - o < DIST_MSG_MAX ? bytes - o : DIST_MSG_MAX;
        MPI_OK(MPI_Bcast((char *)buf + o, (int)n, MPI_BYTE, root, MPI_COMM_WORLD));
    }
#else
    (void)buf, (void)bytes, (void)root;
#endif
}

char *dist_bcast_str(char *s, int root) {
    if (g_size == 1) return s;
    long long len = g_rank == root && s ? (long long)strlen(s) + 1 : 0;
    dist_bcast(&len, sizeof len, root);
    if (!len) return g_rank == root ? s : NULL;
    char *buf = g_rank == root ? s : xmalloc((size_t)len);
    dist_bcast(buf, (size_t)len, root);
    return buf;
}

void dist_sum_f64(double *x, size_t n) {
    CHECK(n <= DIST_SMALL_MAX, "dist_sum_f64 of %zu values (at most %d)", n, DIST_SMALL_MAX);
    if (g_size == 1) return;
#ifdef STRETCH_MPI
    const double t0 = now_seconds();
    MPI_OK(MPI_Allgather(x, (int)n, MPI_DOUBLE, g_small, (int)n, MPI_DOUBLE, MPI_COMM_WORLD));
    g_wait += now_seconds() - t0;
    for (size_t i = 0; i < n; i++) {
        double s = g_small[i];
        for (int r = 1; r < g_size; r++) s += g_small[(size_t)r * n + i];
        x[i] = s;
    }
#else
    (void)x;
#endif
}

int dist_max_int(int x) {
#ifdef STRETCH_MPI
    return max_over(x, MPI_COMM_WORLD, g_size);
#else
    return x;
#endif
}

void dist_gather_u32(unsigned x, unsigned *all) {
    all[0] = x;
#ifdef STRETCH_MPI
    if (g_size > 1) MPI_OK(MPI_Allgather(&x, 1, MPI_UNSIGNED, all, 1, MPI_UNSIGNED, MPI_COMM_WORLD));
#endif
}

// piece_floats: the floats of a reduce-scatter piece: the largest part (part 0), at most
// DIST_MSG_MAX and at most DIST_SCRATCH_MAX / (size - 1), so the scratch stays bounded.
static size_t piece_floats(const size_t *part) {
    size_t n = part[1] - part[0], cap = g_size > 1 ? DIST_SCRATCH_MAX / (size_t)(g_size - 1) : n;
    cap = cap < DIST_MSG_MAX ? cap : DIST_MSG_MAX;
    n = n < cap ? n : cap;
    return n ? n : 1;
}

size_t dist_reduce_scatter_floats(const size_t *part) { return (size_t)(g_size - 1) * piece_floats(part); }

void dist_reduce_scatter_f32(float *x, const size_t *part, float *scratch) {
    if (g_size == 1) return;
#ifdef STRETCH_MPI
    const int N = g_size, r = g_rank;
    const size_t S = piece_floats(part), pieces = (part[1] - part[0] + S - 1) / S;
    for (size_t c = 0; c < pieces; c++) {
        size_t lo, ta;
        const size_t n = piece(part, r, c, S, &lo) - lo;
        for (int k = 1; k < N; k++) {           // scratch slot of rank f: f's copy of this piece of my part
            const int to = (r + k) % N, from = (r - k + N) % N;
            const size_t tn = piece(part, to, c, S, &ta) - ta;
            exchange(x + ta, tn, to, scratch + (size_t)(from < r ? from : from - 1) * S, n, from);
        }
        #pragma omp parallel for
        for (size_t i = 0; i < n; i++) {        // ranks 0 .. N-1 in order; this rank's own at r
            float s = 0.0f;
            for (int f = 0; f < N; f++) s += f == r ? x[lo + i] : scratch[(size_t)(f < r ? f : f - 1) * S + i];
            x[lo + i] = s;
        }
    }
#else
    (void)x, (void)part, (void)scratch;
#endif
}

void dist_allgather_f32(float *x, const size_t *part) {
    if (g_size == 1) return;
#ifdef STRETCH_MPI
    const int N = g_size, r = g_rank;
    const size_t pieces = (part[1] - part[0] + DIST_MSG_MAX - 1) / DIST_MSG_MAX;
    for (size_t c = 0; c < pieces; c++)
        for (int k = 1; k < N; k++) {
            const int to = (r + k) % N, from = (r - k + N) % N;
            size_t a, fa;
            const size_t n = piece(part, r, c, DIST_MSG_MAX, &a) - a, fn = piece(part, from, c, DIST_MSG_MAX, &fa) - fa;
            exchange(x + a, n, to, x + fa, fn, from);
        }
#else
    (void)x, (void)part;
#endif
}

void dist_gather_f32(float *all, const float *own, const size_t *part) {
    if (g_rank == 0 && all + part[0] != own) memcpy(all + part[0], own, (part[1] - part[0]) * sizeof *own);
    if (g_size == 1) return;
#ifdef STRETCH_MPI
    if (g_rank == 0) {
        for (int f = 1; f < g_size; f++)
            for (size_t o = part[f]; o < part[f + 1]; o += DIST_MSG_MAX) {
                const size_t n = part[f + 1] - o < DIST_MSG_MAX ? part[f + 1] - o : DIST_MSG_MAX;
                MPI_OK(MPI_Recv(all + o, (int)n, MPI_FLOAT, f, 8, MPI_COMM_WORLD, MPI_STATUS_IGNORE));
            }
    } else {
        for (size_t o = 0, len = part[g_rank + 1] - part[g_rank]; o < len; o += DIST_MSG_MAX) {
            const size_t n = len - o < DIST_MSG_MAX ? len - o : DIST_MSG_MAX;
            MPI_OK(MPI_Send(own + o, (int)n, MPI_FLOAT, 0, 8, MPI_COMM_WORLD));
        }
    }
#endif
}

void dist_ring_init(int P) {
    CHECK(P >= 1 && g_size % P == 0, "dist_ring_init: rings of %d ranks do not split %d ranks", P, g_size);
    g_ring_size = P;
    g_ring_rank = g_rank % P;
#ifdef STRETCH_MPI
    if (P > 1 && g_ring == MPI_COMM_NULL) MPI_OK(MPI_Comm_split(MPI_COMM_WORLD, g_rank / P, g_rank % P, &g_ring));
#endif
}

int dist_ring_size(void) { return g_ring_size; }
int dist_ring_rank(void) { return g_ring_rank; }

void dist_ring_shift(const void *out, void *in, size_t bytes) {
    if (g_ring_size == 1) {
        memmove(in, out, bytes);
        return;
    }
#ifdef STRETCH_MPI
    const int next = (g_ring_rank + 1) % g_ring_size, prev = (g_ring_rank + g_ring_size - 1) % g_ring_size;
    const size_t msg = (size_t)1 << 30;
    for (size_t o = 0; o < bytes; o += msg) {
        const int n = (int)(bytes - o < msg ? bytes - o : msg);
        CHECK(g_nreq + 2 <= RING_REQS, "dist_ring_shift: more than %d transfers in flight", RING_REQS);
        MPI_OK(MPI_Irecv((char *)in + o, n, MPI_BYTE, prev, 9, g_ring, &g_req[g_nreq++]));
        MPI_OK(MPI_Isend((const char *)out + o, n, MPI_BYTE, next, 9, g_ring, &g_req[g_nreq++]));
    }
#endif
}

void dist_ring_wait(void) {
#ifdef STRETCH_MPI
    const double t0 = now_seconds();
    if (g_nreq) MPI_OK(MPI_Waitall(g_nreq, g_req, MPI_STATUSES_IGNORE));
    g_nreq = 0;
    g_wait += now_seconds() - t0;
#endif
}

int dist_ring_max_int(int x) {
#ifdef STRETCH_MPI
    return max_over(x, g_ring, g_ring_size);
#else
    return x;
#endif
}
