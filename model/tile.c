// tile.c — attention's tile products on packed operands (see layers.h): C = beta C +
// alpha op(A) B, op(A) = A or A^T, for tiles of up to 128 rows, on a register-blocked
// micro-kernel (Goto & van de Geijn 2008; BLIS's "broadcast A, load B" kernel): a block
// of rows x columns of C lives in vector accumulators; each step of k broadcasts one
// element of op(A)'s column k per row and loads the block's columns of B's row k. The
// operands are already packed (rows of HS floats, transposed key panels), so unlike
// cblas_sgemm it copies nothing.
//   AVX-512 (32 zmm): 12 rows x 32 columns (24 accumulators); when N % 32 >= 16 and N >=
//     48 (head sizes 48, 80, 112) the last 48 as 8 x 48 (24), instead of 16-column
//     blocks whose broadcasts feed only one multiply-add each; then the AVX2 blocks for
//     what is left (a last 16 measured faster as 6 x 16 on ymm than as 12 x 16 on zmm).
//   AVX2 + FMA (16 ymm): 6 rows x 16 columns (12 accumulators), then 12 x 8 for a last 8
//     (head sizes 24, 40, ...).
//   Rows left over run 8 (AVX-512) or 1 at a time. The last N % 8 columns, products with
//   N or K below 16 (head sizes 8 and 12, where these blocks measured no faster than
//   OpenBLAS), and CPUs without AVX2 call cblas_sgemm.
// Every element of C sums its K products in order k = 0..K-1 with fused multiply-adds,
// then C = beta C + alpha sum: bit-identical from run to run, and the same bits on the
// AVX2 and AVX-512 kernels.
#include "layers.h"
#include "../util/util.h"

#include <cblas.h>

// rest: columns [j, N) on cblas_sgemm: the last N % 8 after the blocks, or all of them.
static void rest(float *C, int ldc, const float *A, int lda, int ta, const float *B, int ldb, int M, int N, int K,
                 float alpha, float beta, int j) {
    if (j < N)
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, CblasNoTrans, M, N - j, K, alpha, A, lda, B + j, ldb,
                    beta, C + j, ldc);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(STRETCH_BASELINE)
#define TILE_X86 1
#define AVX512 __attribute__((target("arch=x86-64-v4")))
#define AVX2 __attribute__((target("arch=x86-64-v3,tune=skylake")))
#define INLINE static inline __attribute__((always_inline))
typedef float v16 __attribute__((vector_size(64), aligned(4)));
typedef float v8 __attribute__((vector_size(32), aligned(4)));

// BLOCK_BODY(V, W): C (rows, W nv) = beta C + alpha op(A) B on vectors V of W floats, for
// op(A) (rows, K): A (rows, K; lda), or A (K, rows; lda) when ta; B (K, W nv; ldb).
// rows <= 12, nv <= 3 and ta are constants where a block is inlined, so c stays in
// registers (rows * nv accumulators). One body for both vector widths (C has no
// templates); the two blocks below are its only uses.
#define BLOCK_BODY(V, W)                                                                                               \
    V c[12][3];                                                                                                        \
    _Pragma("GCC unroll 12") for (int r = 0; r < rows; r++) c[r][0] = c[r][1] = c[r][2] = (V){0};                     \
    for (int k = 0; k < K; k++) {                                                                                      \
        V b0, b1 = {0}, b2 = {0};                                                                                      \
        b0 = *(const V *)(B + (size_t)k * ldb);                                                                        \
        if (nv > 1) b1 = *(const V *)(B + (size_t)k * ldb + W);                                                        \
        if (nv > 2) b2 = *(const V *)(B + (size_t)k * ldb + 2 * W);                                                    \
        _Pragma("GCC unroll 12") for (int r = 0; r < rows; r++) {                                                      \
            const float x = ta ? A[(size_t)k * lda + r] : A[(size_t)r * lda + k];                                      \
            c[r][0] += x * b0;                                                                                         \
            if (nv > 1) c[r][1] += x * b1;                                                                             \
            if (nv > 2) c[r][2] += x * b2;                                                                             \
        }                                                                                                              \
    }                                                                                                                  \
    _Pragma("GCC unroll 12") for (int r = 0; r < rows; r++) _Pragma("GCC unroll 3") for (int v = 0; v < nv; v++) {   \
        float *p = C + (size_t)r * ldc + W * v;                                                                        \
        V o = alpha * c[r][v];                                                                                         \
        if (beta != 0.0f) o += beta * *(const V *)p;                                                                   \
        *(V *)p = o;                                                                                                   \
    }

#define BLOCK_ARGS                                                                                                     \
    float *C, int ldc, const float *A, int lda, int ta, const float *B, int ldb, int K, float alpha, float beta,       \
        int rows, int nv
AVX512 INLINE void block16(BLOCK_ARGS) { BLOCK_BODY(v16, 16) }
AVX2 INLINE void block8(BLOCK_ARGS) { BLOCK_BODY(v8, 8) }

// The full blocks, each in a function of its own so that register allocation sees its
// loop alone (inlined beside the others, GCC spills B's vectors). NB: ta picks the
// inlined copy.
#define FULL_ARGS float *C, int ldc, const float *A, int lda, int ta, const float *B, int ldb, int K, float alpha, float beta
#define FULL_CALL(blk, rows, nv)                                                                                      \
    if (ta) blk(C, ldc, A, lda, 1, B, ldb, K, alpha, beta, rows, nv);                                                  \
    else blk(C, ldc, A, lda, 0, B, ldb, K, alpha, beta, rows, nv)
AVX512 __attribute__((noinline)) static void block12x32(FULL_ARGS) { FULL_CALL(block16, 12, 2); }
AVX512 __attribute__((noinline)) static void block8x48(FULL_ARGS) { FULL_CALL(block16, 8, 3); }
AVX2 __attribute__((noinline)) static void block6x16(FULL_ARGS) { FULL_CALL(block8, 6, 2); }
AVX2 __attribute__((noinline)) static void block12x8(FULL_ARGS) { FULL_CALL(block8, 12, 1); }

// at: the block of C, op(A) and B at row i, column j.
#define AT(i, j) C + (size_t)(i) * ldc + (j), ldc, A + (ta ? (size_t)(i) : (size_t)(i) * lda), lda, ta, B + (j), ldb, K, alpha, beta

// columns16: columns [j, j + 16 nv) of C on zmm: 12 rows at a time (nv = 2) or 8 (nv =
// 3), then 8, then one at a time.
AVX512 INLINE void columns16(float *C, int ldc, const float *A, int lda, int ta, const float *B, int ldb, int M, int K,
                             float alpha, float beta, int j, int nv) {
    int i = 0;
    for (; nv == 2 && i + 12 <= M; i += 12) block12x32(AT(i, j));
    for (; nv == 3 && i + 8 <= M; i += 8) block8x48(AT(i, j));
    for (; i + 8 <= M; i += 8) block16(AT(i, j), 8, nv);
    for (; i < M; i++) block16(AT(i, j), 1, nv);
}

// columns8: columns [j, j + 8 nv) of C on ymm: 6 rows at a time (nv = 2) or 12 (nv =
// 1), then one at a time.
AVX2 INLINE void columns8(float *C, int ldc, const float *A, int lda, int ta, const float *B, int ldb, int M, int K,
                          float alpha, float beta, int j, int nv) {
    int i = 0;
    for (; nv == 2 && i + 6 <= M; i += 6) block6x16(AT(i, j));
    for (; nv == 1 && i + 12 <= M; i += 12) block12x8(AT(i, j));
    for (; i < M; i++) block8(AT(i, j), 1, nv);
}

// gemm16: column blocks of 32, or the last 48 together when N % 32 >= 16; then 16 and 8
// on ymm; the rest on cblas. ta is a constant where it is inlined (nn16, tn16).
AVX512 INLINE void gemm16(float *C, int ldc, const float *A, int lda, int ta, const float *B, int ldb, int M, int N,
                          int K, float alpha, float beta) {
    const int last48 = N >= 48 && N % 32 >= 16;
    int j = 0;
    for (; j + 32 <= N - (last48 ? 48 : 0); j += 32) columns16(C, ldc, A, lda, ta, B, ldb, M, K, alpha, beta, j, 2);
    if (last48) columns16(C, ldc, A, lda, ta, B, ldb, M, K, alpha, beta, j, 3), j += 48;
    if (j + 16 <= N) columns8(C, ldc, A, lda, ta, B, ldb, M, K, alpha, beta, j, 2), j += 16;
    if (j + 8 <= N) columns8(C, ldc, A, lda, ta, B, ldb, M, K, alpha, beta, j, 1), j += 8;
    rest(C, ldc, A, lda, ta, B, ldb, M, N, K, alpha, beta, j);
}

// gemm8: column blocks of 16, then 8; the rest on cblas.
AVX2 INLINE void gemm8(float *C, int ldc, const float *A, int lda, int ta, const float *B, int ldb, int M, int N, int K,
                       float alpha, float beta) {
    int j = 0;
    for (; j + 16 <= N; j += 16) columns8(C, ldc, A, lda, ta, B, ldb, M, K, alpha, beta, j, 2);
    if (j + 8 <= N) columns8(C, ldc, A, lda, ta, B, ldb, M, K, alpha, beta, j, 1), j += 8;
    rest(C, ldc, A, lda, ta, B, ldb, M, N, K, alpha, beta, j);
}

#define GEMM_ARGS float *C, int ldc, const float *A, int lda, const float *B, int ldb, int M, int N, int K, float alpha, float beta
AVX512 static void nn16(GEMM_ARGS) { gemm16(C, ldc, A, lda, 0, B, ldb, M, N, K, alpha, beta); }
AVX512 static void tn16(GEMM_ARGS) { gemm16(C, ldc, A, lda, 1, B, ldb, M, N, K, alpha, beta); }
AVX2 static void nn8(GEMM_ARGS) { gemm8(C, ldc, A, lda, 0, B, ldb, M, N, K, alpha, beta); }
AVX2 static void tn8(GEMM_ARGS) { gemm8(C, ldc, A, lda, 1, B, ldb, M, N, K, alpha, beta); }
#endif

TileIsa tile_isa(void) {
#ifdef TILE_X86
    if (__builtin_cpu_supports("x86-64-v4")) return TILE_AVX512;   // AVX-512 F, BW, CD, DQ, VL
    if (__builtin_cpu_supports("x86-64-v3")) return TILE_AVX2;     // AVX2, FMA, BMI2, F16C
#endif
    return TILE_CBLAS;
}

const char *tile_isa_name(TileIsa isa) {
    return isa == TILE_AVX512 ? "avx512" : isa == TILE_AVX2 ? "avx2" : "cblas";
}

void tile_gemm(TileIsa isa, float *C, int ldc, const float *A, int lda, int ta, const float *B, int ldb, int M, int N,
               int K, float alpha, float beta) {
    CHECK((unsigned)isa <= (unsigned)tile_isa(), "tile_gemm: kernel %s on a CPU that runs up to %s", tile_isa_name(isa),
          tile_isa_name(tile_isa()));
#ifdef TILE_X86
    if (N >= 16 && K >= 16 && isa == TILE_AVX512) {
        if (ta) tn16(C, ldc, A, lda, B, ldb, M, N, K, alpha, beta);
        else nn16(C, ldc, A, lda, B, ldb, M, N, K, alpha, beta);
        return;
    }
    if (N >= 16 && K >= 16 && isa == TILE_AVX2) {
        if (ta) tn8(C, ldc, A, lda, B, ldb, M, N, K, alpha, beta);
        else nn8(C, ldc, A, lda, B, ldb, M, N, K, alpha, beta);
        return;
    }
#endif
    rest(C, ldc, A, lda, ta, B, ldb, M, N, K, alpha, beta, 0);
}

void tile_nn(float *C, int ldc, const float *A, int lda, const float *B, int ldb, int M, int N, int K, float alpha,
             float beta) {
    tile_gemm(tile_isa(), C, ldc, A, lda, 0, B, ldb, M, N, K, alpha, beta);
}

void tile_tn(float *C, int ldc, const float *A, int lda, const float *B, int ldb, int M, int N, int K, float alpha,
             float beta) {
    tile_gemm(tile_isa(), C, ldc, A, lda, 1, B, ldb, M, N, K, alpha, beta);
}
