// layers.c — embedding, pointwise, normalisation and matmul layers, and the chunked LM head
// with its loss (see layers.h); cross-entropy and the vector exp are in softmax.c.
#include "layers.h"
#include "blas.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <string.h>

void encoder_forward(float *out, const int *tokens, const float *embed, size_t N, int C) {
    #pragma omp parallel for
    for (size_t n = 0; n < N; n++)
        memcpy(out + n * C, embed + (size_t)tokens[n] * C, (size_t)C * sizeof(float));
}

void encoder_backward(float *dembed, const float *dout, const int *tokens, size_t N, int C) {
    // rows of equal tokens collide: parallel over channels, serial over rows
    #pragma omp parallel for
    for (int c = 0; c < C; c++)
        for (size_t n = 0; n < N; n++) dembed[(size_t)tokens[n] * C + c] += dout[n * C + c];
}

// rmsnorm_row: one row of rmsnorm_forward; returns r.
KERNEL static float rmsnorm_row(float *out, const float *x, const float *w, int C, float eps) {
    double ss = 0.0;
    #pragma omp simd reduction(+ : ss)
    for (int c = 0; c < C; c++) ss += (double)x[c] * x[c];
    const float r = (float)(1.0 / sqrt(ss / C + eps));
    #pragma omp simd
    for (int c = 0; c < C; c++) out[c] = x[c] * r * w[c];
    return r;
}

void rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, size_t N, int C, float eps) {
    #pragma omp parallel for
    for (size_t n = 0; n < N; n++) rstd[n] = rmsnorm_row(out + n * C, x + n * C, w, C, eps);
}

// rmsnorm_dx_row: dx += r w dy - (r^3 / C) x sum_k(w_k dy_k x_k) for one row.
KERNEL static void rmsnorm_dx_row(float *dx, const float *dy, const float *x, const float *w, float r, int C) {
    double dot = 0.0;
    #pragma omp simd reduction(+ : dot)
    for (int c = 0; c < C; c++) dot += (double)w[c] * dy[c] * x[c];
    const float k = (float)(dot * r * r * r / C);
    #pragma omp simd
    for (int c = 0; c < C; c++) dx[c] += r * w[c] * dy[c] - k * x[c];
}

// rmsnorm_dw_cols: dw[c] += sum_n dy[n, c] x[n, c] r[n] for the columns [c0, c1) (at
// most DW_COLS of them), in double.
enum { DW_COLS = 64 };
KERNEL static void rmsnorm_dw_cols(float *dw, const float *dout, const float *x, const float *rstd, size_t N, int C,
                                   int c0, int c1) {
    double acc[DW_COLS];
    for (int c = c0; c < c1; c++) acc[c - c0] = 0.0;
    for (size_t n = 0; n < N; n++) {
        const float *dy = dout + n * C, *xr = x + n * C;
        const double r = rstd[n];
        #pragma omp simd
        for (int c = c0; c < c1; c++) acc[c - c0] += (double)dy[c] * xr[c] * r;
    }
    for (int c = c0; c < c1; c++) dw[c] += (float)acc[c - c0];
}

// y_c = x_c r w_c, r = (mean(x^2) + eps)^(-1/2), dr/dx_c = -r^3 x_c / C
//   dx_c = r w_c dy_c - (r^3 / C) x_c sum_k(w_k dy_k x_k);  dw_c = sum_n dy_c x_c r
void rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *rstd,
                      const float *w, size_t N, int C) {
    #pragma omp parallel for
    for (size_t n = 0; n < N; n++) rmsnorm_dx_row(dx + n * C, dout + n * C, x + n * C, w, rstd[n], C);
    #pragma omp parallel for
    for (int c0 = 0; c0 < C; c0 += DW_COLS)
        rmsnorm_dw_cols(dw, dout, x, rstd, N, C, c0, c0 + DW_COLS < C ? c0 + DW_COLS : C);
}

// gemm_slabs: C (M, N) = op(A) op(B) + beta C (row-major; op(A) (M, K), op(B) (K, N)).
// The rows of C are dealt to the threads as contiguous slabs of whole SLAB_ROWS, each slab
// one single-threaded cblas_sgemm: each thread packs the shared operand itself and no
// thread waits for another before the region's end. (OpenBLAS's own threading splits one
// product between threads that wait for each other's packed panels, spinning on
// sched_yield in 0.3.21.)
// Against OpenBLAS's 2 threads on 2 cores, median of 41 alternating pairs: 1.2-2.8x at
// (2048, 288, 288) NT, NN and TN, 1.15-1.26x on the LM head's (1048, 32000, 288) NT, NN
// and TN. Under SLAB_MIN rows for every thread, OpenBLAS's threading (which splits the
// columns too) runs the product. A row of C is summed over K as one thread's sgemm sums
// it: the bits depend on the thread count only.
enum { SLAB_ROWS = 16, SLAB_MIN = 64 };
static void gemm_slabs(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb,
                       float beta, float *C, int ldc) {
    const enum CBLAS_TRANSPOSE opa = ta ? CblasTrans : CblasNoTrans, opb = tb ? CblasTrans : CblasNoTrans;
    const int all = omp_get_max_threads(), slabs = (M + SLAB_ROWS - 1) / SLAB_ROWS;
    if (all == 1 || M / SLAB_MIN < all) {
        cblas_sgemm(CblasRowMajor, opa, opb, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    (void)blas_serial();
    #pragma omp parallel num_threads(all)
    {
        const int w = omp_get_thread_num(), team = omp_get_num_threads();
        const int m0 = slabs * w / team * SLAB_ROWS, m1s = slabs * (w + 1) / team * SLAB_ROWS, m1 = m1s < M ? m1s : M;
        if (m1 > m0)
            cblas_sgemm(CblasRowMajor, opa, opb, m1 - m0, N, K, 1.0f, ta ? A + m0 : A + (size_t)m0 * lda, lda, B, ldb,
                        beta, C + (size_t)m0 * ldc, ldc);
    }
    blas_restore(all);
}

void matmul_forward(float *out, const float *x, const float *w, size_t N, int IC, int OC) {
    gemm_slabs(0, 1, (int)N, OC, IC, x, IC, w, IC, 0.0f, out, OC);
}

// dx (N, IC) += dout (N, OC) @ W (OC, IC);  dW (OC, IC) += dout^T (OC, N) @ x (N, IC)
void matmul_backward(float *dx, float *dw, const float *dout, const float *x, const float *w,
                     size_t N, int IC, int OC) {
    gemm_slabs(0, 0, (int)N, IC, OC, dout, OC, w, IC, 1.0f, dx, IC);
    gemm_slabs(1, 0, OC, IC, (int)N, dout, OC, x, IC, 1.0f, dw, IC);
}

// lmhead_ce: the LM head's matmul and cross-entropy (softmax.c), chunk rows at a time.
void lmhead_ce_forward(float *losses, const float *x, const int *targets, const float *W, float *scratch,
                       size_t N, int C, int V, size_t chunk) {
    for (size_t r0 = 0; r0 < N; r0 += chunk) {
        size_t n = N - r0 < chunk ? N - r0 : chunk;
        matmul_forward(scratch, x + r0 * C, W, n, C, V);
        crossentropy_forward(losses + r0, scratch, targets + r0, n, V);
    }
}

void lmhead_ce_backward(float *dx, float *dW, float *losses, float dloss, const float *x, const int *targets,
                        const float *W, float *scratch, size_t N, int C, int V, size_t chunk) {
    for (size_t r0 = 0; r0 < N; r0 += chunk) {
        size_t n = N - r0 < chunk ? N - r0 : chunk;
        matmul_forward(scratch, x + r0 * C, W, n, C, V);
        crossentropy_backward(scratch, losses + r0, targets + r0, dloss, n, V);
        matmul_backward(dx + r0 * C, dW, scratch, x + r0 * C, W, n, C, V);
    }
}

// Element-wise layers run in blocks of EW_BLOCK floats shared by the threads, each block
// one call of a KERNEL. sigmoid(g) = e / (1 + e), e = exp(g) by exp_sub (whose clamp
// at g = 88 still gives 1, and 0 below -87).
enum { EW_BLOCK = 2048 };

KERNEL static void swiglu_block(float *out, const float *g, const float *u, size_t n) {
    float e[EW_BLOCK];
    exp_sub(e, g, (int)n, 0.0f);
    #pragma omp simd
    for (size_t i = 0; i < n; i++) out[i] = g[i] * (e[i] / (1.0f + e[i])) * u[i];
}

void swiglu_forward(float *out, const float *g, const float *u, size_t n) {
    #pragma omp parallel for
    for (size_t i = 0; i < n; i += EW_BLOCK) swiglu_block(out + i, g + i, u + i, n - i < EW_BLOCK ? n - i : EW_BLOCK);
}

// d silu(g)/dg = s (1 + g (1 - s)), s = sigmoid(g)
KERNEL static void swiglu_dblock(float *dg, float *du, const float *dout, const float *g, const float *u, size_t n) {
    float e[EW_BLOCK];
    exp_sub(e, g, (int)n, 0.0f);
    #pragma omp simd
    for (size_t i = 0; i < n; i++) {
        const float sg = e[i] / (1.0f + e[i]);
        dg[i] += dout[i] * u[i] * sg * (1.0f + g[i] * (1.0f - sg));
        du[i] += dout[i] * g[i] * sg;
    }
}

void swiglu_backward(float *dg, float *du, const float *dout, const float *g, const float *u, size_t n) {
    #pragma omp parallel for
    for (size_t i = 0; i < n; i += EW_BLOCK)
        swiglu_dblock(dg + i, du + i, dout + i, g + i, u + i, n - i < EW_BLOCK ? n - i : EW_BLOCK);
}

void residual_forward(float *out, const float *a, const float *b, size_t n) {
    #pragma omp parallel for
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void residual_backward(float *da, float *db, const float *dout, size_t n) {
    #pragma omp parallel for
    for (size_t i = 0; i < n; i++) {
        da[i] += dout[i];
        db[i] += dout[i];
    }
}
