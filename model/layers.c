// layers.c — embedding, pointwise, normalisation and matmul layers (see layers.h); the loss
// layers are in softmax.c.
#include "layers.h"

#include <cblas.h>
#include <math.h>
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

void rmsnorm_forward(float *out, float *rstd, const float *x, const float *w, size_t N, int C, float eps) {
    #pragma omp parallel for
    for (size_t n = 0; n < N; n++) {
        const float *xr = x + n * C;
        double ss = 0.0;
        for (int c = 0; c < C; c++) ss += (double)xr[c] * xr[c];
        float r = (float)(1.0 / sqrt(ss / C + eps));
        rstd[n] = r;
        for (int c = 0; c < C; c++) out[n * C + c] = xr[c] * r * w[c];
    }
}

// y_c = x_c r w_c, r = (mean(x^2) + eps)^(-1/2), dr/dx_c = -r^3 x_c / C
//   dx_c = r w_c dy_c - (r^3 / C) x_c sum_k(w_k dy_k x_k);  dw_c = sum_n dy_c x_c r
void rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x, const float *rstd,
                      const float *w, size_t N, int C) {
    #pragma omp parallel for
    for (size_t n = 0; n < N; n++) {
        const float *xr = x + n * C, *dy = dout + n * C;
        float r = rstd[n];
        double dot = 0.0;
        for (int c = 0; c < C; c++) dot += (double)w[c] * dy[c] * xr[c];
        float k = (float)(dot * r * r * r / C);
        for (int c = 0; c < C; c++) dx[n * C + c] += r * w[c] * dy[c] - k * xr[c];
    }
    #pragma omp parallel for
    for (int c = 0; c < C; c++) {
        double acc = 0.0;
        for (size_t n = 0; n < N; n++) acc += (double)dout[n * C + c] * x[n * C + c] * rstd[n];
        dw[c] += (float)acc;
    }
}

void matmul_forward(float *out, const float *x, const float *w, size_t N, int IC, int OC) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, OC, IC, 1.0f, x, IC, w, IC, 0.0f, out, OC);
}

// dx (N, IC) += dout (N, OC) @ W (OC, IC);  dW (OC, IC) += dout^T (OC, N) @ x (N, IC)
void matmul_backward(float *dx, float *dw, const float *dout, const float *x, const float *w,
                     size_t N, int IC, int OC) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, IC, OC, 1.0f, dout, OC, w, IC, 1.0f, dx, IC);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, IC, (int)N, 1.0f, dout, OC, x, IC, 1.0f, dw, IC);
}

void swiglu_forward(float *out, const float *g, const float *u, size_t n) {
    #pragma omp parallel for
    for (size_t i = 0; i < n; i++) {
        float sg = 1.0f / (1.0f + expf(-g[i]));
        out[i] = g[i] * sg * u[i];
    }
}

// d silu(g)/dg = s (1 + g (1 - s)), s = sigmoid(g)
void swiglu_backward(float *dg, float *du, const float *dout, const float *g, const float *u, size_t n) {
    #pragma omp parallel for
    for (size_t i = 0; i < n; i++) {
        float sg = 1.0f / (1.0f + expf(-g[i]));
        dg[i] += dout[i] * u[i] * sg * (1.0f + g[i] * (1.0f - sg));
        du[i] += dout[i] * g[i] * sg;
    }
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
