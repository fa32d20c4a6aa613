// dist.h — the ranks of a run and the few collectives the trainer needs (dist.c), over
// MPI (OpenMPI's mpirun) or, in a build without MPI (make MPI=0), one process.
//
// Under mpirun (MPI's environment variables present) dist_init calls MPI_Init; started
// any other way, the process is rank 0 of 1 and MPI is never initialised, so `./train`
// alone runs exactly as a build without MPI. Every reduction here adds the ranks'
// contributions in rank order 0, 1, ..., N-1, whatever order the messages arrive in:
// a run is bit-reproducible for a given rank count (MPI's own reductions promise no
// order). Transfers of any size are split into messages of at most DIST_MSG_MAX floats.
#ifndef STRETCH_DIST_H
#define STRETCH_DIST_H

#include <stddef.h>

#ifndef DIST_MSG_MAX                     // (tests/test_dist builds with tiny ones)
#define DIST_MSG_MAX ((size_t)1 << 28)   // floats per MPI message (MPI counts are int)
#define DIST_SCRATCH_MAX ((size_t)1 << 24)   // floats of the reduce-scatter's scratch (64 MiB)
#endif
#define DIST_SMALL_MAX 4096              // doubles of one dist_sum_f64

// dist_init: join the job when launched by mpirun (else rank 0 of 1); stdout of ranks
// other than 0 goes to /dev/null (rank 0 prints the progress), and die() on them waits
// before printing (util.h: die_set_rank).
void dist_init(int *argc, char ***argv);
// dist_finalize: leave the job (all ranks must call it; a no-op for one process).
void dist_finalize(void);
int dist_rank(void);
int dist_size(void);
// dist_launched: 1 when started by mpirun (even with -np 1).
int dist_launched(void);
void dist_barrier(void);
// dist_wait_seconds: seconds spent so far in the reductions, exchanges and ring waits
// (time blocked on other ranks, transfer time included; not the overlapped part of a
// ring shift).
double dist_wait_seconds(void);
// dist_bcast: `bytes` bytes of buf from rank `root` to every rank.
void dist_bcast(void *buf, size_t bytes, int root);
// dist_bcast_str: the string s of rank `root` (NULL included) on every rank: s itself on
// root, a copy to free (or NULL) elsewhere.
char *dist_bcast_str(char *s, int root);
// dist_sum_f64: x[0..n) summed over ranks in rank order, the same bits on every rank.
// n <= DIST_SMALL_MAX.
void dist_sum_f64(double *x, size_t n);
// dist_max_int: the largest x over ranks, on every rank.
int dist_max_int(int x);
// dist_gather_u32: x of every rank into all[0..size) on every rank.
void dist_gather_u32(unsigned x, unsigned *all);
// dist_reduce_scatter_f32: x (n floats, the same layout on every rank) is summed over
// ranks, in rank order, into this rank's part x[part[rank]..part[rank+1]) (the other
// parts of x are left as they were), piece by piece. part: size + 1 boundaries from
// dist_split (part 0 the largest), part[0] = 0, part[size] = n. scratch:
// dist_reduce_scatter_floats(part) floats (at most DIST_SCRATCH_MAX).
void dist_reduce_scatter_f32(float *x, const size_t *part, float *scratch);
size_t dist_reduce_scatter_floats(const size_t *part);
// dist_allgather_f32: every rank's part of x (its own, up to date) into x on every rank.
void dist_allgather_f32(float *x, const size_t *part);
// dist_gather_f32: every rank's `own` (its part's part[r+1] - part[r] floats) into
// all[part[r]..part[r+1]) on rank 0; `all` is not touched on other ranks (may be NULL).
// Rank 0's own may already be all + part[0] (a view into the gathered buffer): then
// nothing is copied for it.
void dist_gather_f32(float *all, const float *own, const size_t *part);
// Rings (context parallelism): the ranks split into groups of P consecutive ranks, rank
// g*P + c being member c of ring g. A shift sends to member c + 1 and receives from
// member c - 1 (mod P), started at once and finished by dist_ring_wait, so that a
// transfer overlaps the computation that follows it.
// dist_ring_init: make the rings (P divides dist_size(); P = 1: every rank alone).
void dist_ring_init(int P);
int dist_ring_size(void);
int dist_ring_rank(void);
// dist_ring_shift: start sending `bytes` bytes at out to the next member and receiving
// as many from the previous one into in (out and in must not change until the wait).
void dist_ring_shift(const void *out, void *in, size_t bytes);
// dist_ring_wait: finish every shift started.
void dist_ring_wait(void);
// dist_ring_max_int: the largest x over the members of this ring.
int dist_ring_max_int(int x);
// dist_split: part[0..size] = n split into `size` contiguous parts, the first n % size
// one longer.
void dist_split(size_t n, int size, size_t *part);

#endif
