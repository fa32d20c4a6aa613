// blas.c — OpenBLAS for the whole process (see blas.h): kernels fitted to the CPU when the
// library does not know it, and its thread count around OpenMP regions.
//
// Why the kernels matter: on an Emerald Rapids (2 vCPUs, 2026-12-07) Debian's OpenBLAS
// 0.3.21 detects Prescott, and a 2048^3 SGEMM on 2 threads runs at 33 GFLOP/s; with
// OPENBLAS_CORETYPE=Haswell at 158, SkylakeX 222, Cooperlake 263.
#define _POSIX_C_SOURCE 200809L
#include "blas.h"

#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// The environment variable that carries OpenBLAS's own pick into the process run again.
#define DETECTED_ENV "STRETCH_OPENBLAS_DETECTED"

// Tiers of OpenBLAS's x86-64 kernels (its corenames), by the widest vector work they use:
// 0 SSE, 1 AVX, 2 AVX2 + FMA, 3 AVX-512, 4 AVX-512 with BF16. TIER_KERNELS: the kernels
// chosen for a CPU of each tier.
static const char *const TIER_KERNELS[] = {NULL, "Sandybridge", "Haswell", "SkylakeX", "Cooperlake"};
static const struct { const char *name; int tier; } CORES[] = {
    {"Katmai", 0}, {"Coppermine", 0}, {"Northwood", 0}, {"Prescott", 0}, {"Banias", 0}, {"Atom", 0},
    {"Core2", 0}, {"Penryn", 0}, {"Dunnington", 0}, {"Nehalem", 0}, {"Athlon", 0}, {"Opteron", 0},
    {"Opteron(SSE3)", 0}, {"Barcelona", 0}, {"Nano", 0}, {"Bobcat", 0}, {"Sandybridge", 1}, {"Bulldozer", 1},
    {"Piledriver", 1}, {"Steamroller", 1}, {"Excavator", 2}, {"Haswell", 2}, {"Zen", 2}, {"SkylakeX", 3},
    {"Cooperlake", 4}, {"SapphireRapids", 4},
};

// core_tier: the tier of OpenBLAS's kernels `name`; -1 for a name not known here (left alone).
static int core_tier(const char *name) {
    for (size_t i = 0; i < sizeof CORES / sizeof CORES[0]; i++)
        if (!strcmp(name, CORES[i].name)) return CORES[i].tier;
    return -1;
}

// cpu_tier: the tier this CPU and its OS run (the compiler's cpuid, libgcc's or
// compiler-rt's, which checks that the OS saves the AVX and AVX-512 registers): AVX-512 as
// OpenBLAS's SkylakeX kernels use it is F, CD, BW, DQ and VL.
static int cpu_tier(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return __builtin_cpu_supports("avx512bf16") ? 4 : 3;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 2;
    if (__builtin_cpu_supports("avx")) return 1;
#endif
    return 0;
}

void blas_fit_kernels(char **argv) {
    if (getenv("OPENBLAS_CORETYPE")) return;       // the user's choice, or ours in the process run again
    const char *have = openblas_get_corename();
    const int tier = core_tier(have), can = cpu_tier();
    if (tier < 0 || tier >= can) return;
    if (setenv("OPENBLAS_CORETYPE", TIER_KERNELS[can], 1) || setenv(DETECTED_ENV, have, 1)) return;
    fflush(NULL);
    execv("/proc/self/exe", argv);
    unsetenv("OPENBLAS_CORETYPE");                 // no /proc: run on what OpenBLAS picked, and say so
    unsetenv(DETECTED_ENV);
    fprintf(stderr, "warning: OpenBLAS runs its %s kernels on a CPU that runs its %s kernels (set OPENBLAS_CORETYPE=%s "
            "for them)\n", have, TIER_KERNELS[can], TIER_KERNELS[can]);
}

const char *blas_kernels(char *buf, size_t cap) {
    const char *detected = getenv(DETECTED_ENV), *forced = getenv("OPENBLAS_CORETYPE");
    if (forced && detected) snprintf(buf, cap, "%s (stretch's choice: OpenBLAS detected %s)", openblas_get_corename(), detected);
    else if (forced) snprintf(buf, cap, "%s (OPENBLAS_CORETYPE=%s)", openblas_get_corename(), forced);
    else snprintf(buf, cap, "%s", openblas_get_corename());
    return buf;
}

int blas_serial(void) {
    const int all = omp_get_max_threads();
    openblas_set_num_threads(1);
    return all;
}

void blas_restore(int threads) { openblas_set_num_threads(threads); }
