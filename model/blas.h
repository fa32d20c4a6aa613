// blas.h — OpenBLAS for the whole process: the kernels it runs on this CPU, and its thread
// count around OpenMP regions whose threads each call it (blas.c).
#pragma once

#include <stddef.h>

// blas_fit_kernels: the first call of main, before any thread or MPI exists. A
// DYNAMIC_ARCH OpenBLAS (Debian's) picks its kernels as it loads, from the CPU models it
// knows; on a CPU newer than the build it falls back to old ones (0.3.21 on an Emerald
// Rapids, family 6 model 207: Prescott's SSE3 kernels). It reads OPENBLAS_CORETYPE only as
// it loads, so when that is unset and the kernels it picked use less of the CPU than the
// CPU's features allow, the process runs itself again (/proc/self/exe, the same argv) with
// OPENBLAS_CORETYPE naming the best kernels this CPU runs. Returns when nothing is to be
// done; a user's OPENBLAS_CORETYPE is always left as it is.
void blas_fit_kernels(char **argv);
// blas_kernels: "<OpenBLAS's kernels>" or "<kernels> (stretch's choice: OpenBLAS detected
// <name>)" into buf; returns buf.
const char *blas_kernels(char *buf, size_t cap);

// blas_serial: OpenBLAS on one thread, for an OpenMP region whose threads each call it;
// returns the thread count to hand back to blas_restore after the region. (OpenBLAS's
// OpenMP build sets OpenMP's count with its own: read the count before, use the returned
// one for the region.)
int blas_serial(void);
void blas_restore(int threads);
