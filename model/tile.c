// tile.c — attention's tile products on packed operands (see layers.h): C = beta C +
// alpha op(A) B, op(A) = A or A^T, for tiles of up to 128 rows. On AVX-512 a
// register-blocked micro-kernel (Goto & van de Geijn 2008; BLIS's "broadcast A, load B"
// kernel): a block of 12 rows x 32 columns of C lives in 24 zmm accumulators; each step
// of k broadcasts 12 elements of op(A)'s column k and loads 32 of B's row k. When the
// columns end in 48 (N % 32 = 16: head sizes 48, 80, 112) the last 48 run as blocks of
// 8 rows x 48 columns, also 24 accumulators, instead of 16-column blocks whose 8 or 12
// broadcasts a step feed only 8 or 12 multiply-adds. The
// operands are already packed (rows of HS floats, transposed key panels), so unlike
// cblas_sgemm it copies nothing.
// Every element of C sums its K products in order k = 0..K-1 with fused multiply-adds,
// then C = beta C + alpha sum: bit-identical from run to run. Elsewhere (no AVX-512,
// STRETCH_BASELINE, fewer than 16 columns or k: head size 8 or 12) and for the last
// N % 16 columns it calls cblas_sgemm.
#include "layers.h"

#include <cblas.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(STRETCH_BASELINE)
#define TILE_AVX512 1
#define AVX512 __attribute__((target("arch=x86-64-v4")))
typedef float v16 __attribute__((vector_size(64), aligned(4)));
#define SPLAT(x) ((v16){(x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x), (x)})

// block: C (rows, 16 nv) = beta C + alpha op(A) B for op(A) (rows, K): A (rows, K; lda),
// or A (K, rows; lda) when ta; B (K, 16 nv; ldb). rows <= 12, nv <= 3, rows * nv <= 24,
// and ta are constants where it is inlined, so c stays in registers.
AVX512 static inline __attribute__((always_inline)) void block(float *C, int ldc, const float *A, int lda, int ta,
                                                               const float *B, int ldb, int K, float alpha,
                                                               float beta, int rows, int nv) {
    v16 c[12][3];
    #pragma GCC unroll 12
    for (int r = 0; r < rows; r++) c[r][0] = c[r][1] = c[r][2] = (v16){0};
    for (int k = 0; k < K; k++) {
        v16 b0, b1 = {0}, b2 = {0};
        memcpy(&b0, B + (size_t)k * ldb, sizeof b0);
        if (nv > 1) memcpy(&b1, B + (size_t)k * ldb + 16, sizeof b1);
        if (nv > 2) memcpy(&b2, B + (size_t)k * ldb + 32, sizeof b2);
        #pragma GCC unroll 12
        for (int r = 0; r < rows; r++) {
            const float x = ta ? A[(size_t)k * lda + r] : A[(size_t)r * lda + k];
            const v16 a = SPLAT(x);
            c[r][0] += a * b0;
            if (nv > 1) c[r][1] += a * b1;
            if (nv > 2) c[r][2] += a * b2;
        }
    }
    #pragma GCC unroll 12
    for (int r = 0; r < rows; r++)
        #pragma GCC unroll 3
        for (int v = 0; v < nv; v++) {
            float *p = C + (size_t)r * ldc + 16 * v;
            v16 o = alpha * c[r][v];
            if (beta != 0.0f) {
                v16 old;
                memcpy(&old, p, sizeof old);
                o += beta * old;
            }
            memcpy(p, &o, sizeof o);
        }
}

// block12: the full 12 x 32 block in a function of its own, so that register allocation
// sees its loop alone (inlined beside the others, GCC spills B's vectors).
AVX512 __attribute__((noinline)) static void block12(float *C, int ldc, const float *A, int lda, int ta,
                                                     const float *B, int ldb, int K, float alpha, float beta) {
    if (ta) block(C, ldc, A, lda, 1, B, ldb, K, alpha, beta, 12, 2);
    else block(C, ldc, A, lda, 0, B, ldb, K, alpha, beta, 12, 2);
}

// block8x48: the 8 x 48 block, on its own for the same reason.
AVX512 __attribute__((noinline)) static void block8x48(float *C, int ldc, const float *A, int lda, int ta,
                                                       const float *B, int ldb, int K, float alpha, float beta) {
    if (ta) block(C, ldc, A, lda, 1, B, ldb, K, alpha, beta, 8, 3);
    else block(C, ldc, A, lda, 0, B, ldb, K, alpha, beta, 8, 3);
}

// columns: columns [j, j + 16 nv) of C, 12 rows at a time (nv = 2), then 8 (with nv = 3
// in block8x48), then one at a time.
AVX512 static inline __attribute__((always_inline)) void columns(float *C, int ldc, const float *A, int lda, int ta,
                                                                 const float *B, int ldb, int M, int K, float alpha,
                                                                 float beta, int j, int nv) {
    int i = 0;
    for (; nv == 2 && i + 12 <= M; i += 12)
        block12(C + (size_t)i * ldc + j, ldc, A + (ta ? (size_t)i : (size_t)i * lda), lda, ta, B + j, ldb, K, alpha,
                beta);
    for (; nv == 3 && i + 8 <= M; i += 8)
        block8x48(C + (size_t)i * ldc + j, ldc, A + (ta ? (size_t)i : (size_t)i * lda), lda, ta, B + j, ldb, K, alpha,
                  beta);
    for (; i + 8 <= M; i += 8)
        block(C + (size_t)i * ldc + j, ldc, A + (ta ? (size_t)i : (size_t)i * lda), lda, ta, B + j, ldb, K, alpha, beta,
              8, nv);
    for (; i < M; i++)
        block(C + (size_t)i * ldc + j, ldc, A + (ta ? (size_t)i : (size_t)i * lda), lda, ta, B + j, ldb, K, alpha, beta,
              1, nv);
}

// gemm_avx512: column blocks of 32, then 16, or the last 48 together when N % 32 is 16 or
// more; the last N % 16 columns (a partial key tile, head sizes not a multiple of 16) go
// to cblas_sgemm.
AVX512 static inline __attribute__((always_inline)) void gemm_avx512(float *C, int ldc, const float *A, int lda,
                                                                     int ta, const float *B, int ldb, int M, int N,
                                                                     int K, float alpha, float beta) {
    const int last48 = N >= 48 && N % 32 >= 16;
    int j = 0;
    for (; j + 32 <= N - (last48 ? 48 : 0); j += 32) columns(C, ldc, A, lda, ta, B, ldb, M, K, alpha, beta, j, 2);
    if (last48) columns(C, ldc, A, lda, ta, B, ldb, M, K, alpha, beta, j, 3), j += 48;
    else if (j + 16 <= N) columns(C, ldc, A, lda, ta, B, ldb, M, K, alpha, beta, j, 1), j += 16;
    if (j < N)
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, CblasNoTrans, M, N - j, K, alpha, A, lda, B + j, ldb,
                    beta, C + j, ldc);
}

AVX512 static void nn_avx512(float *C, int ldc, const float *A, int lda, const float *B, int ldb, int M, int N, int K,
                             float alpha, float beta) {
    gemm_avx512(C, ldc, A, lda, 0, B, ldb, M, N, K, alpha, beta);
}

AVX512 static void tn_avx512(float *C, int ldc, const float *A, int lda, const float *B, int ldb, int M, int N, int K,
                             float alpha, float beta) {
    gemm_avx512(C, ldc, A, lda, 1, B, ldb, M, N, K, alpha, beta);
}

// ours: whether our kernel runs this shape: a CPU of the level the kernel is compiled for
// (x86-64-v4: AVX-512 F, BW, CD, DQ, VL), and at least 16 columns and 16 k.
static int ours(int N, int K) { return N >= 16 && K >= 16 && __builtin_cpu_supports("x86-64-v4"); }
#endif

const char *tile_kernel(void) {
#ifdef TILE_AVX512
    if (ours(16, 16)) return "avx512";
#endif
    return "cblas";
}

// tile_gemm: C = beta C + alpha op(A) B on our kernel or cblas_sgemm (ta: op(A) = A^T).
static void tile_gemm(float *C, int ldc, const float *A, int lda, int ta, const float *B, int ldb, int M, int N, int K,
                      float alpha, float beta) {
#ifdef TILE_AVX512
    if (ours(N, K)) {
        if (ta) tn_avx512(C, ldc, A, lda, B, ldb, M, N, K, alpha, beta);
        else nn_avx512(C, ldc, A, lda, B, ldb, M, N, K, alpha, beta);
        return;
    }
#endif
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C,
                ldc);
}

void tile_nn(float *C, int ldc, const float *A, int lda, const float *B, int ldb, int M, int N, int K, float alpha,
             float beta) {
    tile_gemm(C, ldc, A, lda, 0, B, ldb, M, N, K, alpha, beta);
}

void tile_tn(float *C, int ldc, const float *A, int lda, const float *B, int ldb, int M, int N, int K, float alpha,
             float beta) {
    tile_gemm(C, ldc, A, lda, 1, B, ldb, M, N, K, alpha, beta);
}
