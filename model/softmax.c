// softmax.c — the vector exp of every softmax, cross-entropy, and the chunked LM head with
// its loss (see layers.h).
#include "layers.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

// exp(d) = 2^k exp(r), k = round(d / ln 2) (adding and subtracting 1.5 * 2^23 rounds),
// r = d - k ln 2 (ln 2 split in two for exactness), exp(r) by Cephes' degree-6 minimax
// polynomial on |r| <= ln(2)/2 (Moshier, Cephes expf.c). d is clamped to [-87, 88] so 2^k
// stays a normal float; below -87 (exp < 1.7e-38, and -INFINITY) the result is 0. The bits
// of 2^k are built as integers and moved to floats by one memcpy between two loops (no
// type punning inside a loop), so both loops vectorise; the sum is float within a block.
// A NaN x stays NaN (through r); its k is taken as 0 so that no NaN is cast to an integer.
enum { EXP_BLOCK = 64 };

KERNEL double exp_shift(float *y, const float *x, int n, float shift) {
    double total = 0.0;
    for (int i0 = 0; i0 < n; i0 += EXP_BLOCK) {
        const int m = n - i0 < EXP_BLOCK ? n - i0 : EXP_BLOCK;
        int32_t bits[EXP_BLOCK];
        float two_k[EXP_BLOCK], sum = 0.0f;
        #pragma omp simd
        for (int i = 0; i < m; i++) {
            const float d = x[i0 + i] - shift, a0 = d > 88.0f ? 88.0f : d, a = a0 < -87.0f ? -87.0f : a0;
            const float k = (a * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
            const float r = a - k * 0.693359375f - k * -2.12194440e-4f;
            float p = 1.9875691500e-4f;
            p = p * r + 1.3981999507e-3f;
            p = p * r + 8.3334519073e-3f;
            p = p * r + 4.1665795894e-2f;
            p = p * r + 1.6666665459e-1f;
            p = p * r + 5.0000001201e-1f;
            const int32_t kb = ((int32_t)(k == k ? k : 0.0f) + 127) << 23;   // k in [-126, 127]; x NaN: y is NaN
            bits[i] = d < -87.0f ? 0 : kb;                      // the bits of 2^k, or of 0
            y[i0 + i] = p * r * r + r + 1.0f;
        }
        memcpy(two_k, bits, (size_t)m * sizeof(float));
        #pragma omp simd reduction(+ : sum)
        for (int i = 0; i < m; i++) {
            y[i0 + i] *= two_k[i];
            sum += y[i0 + i];
        }
        total += sum;
    }
    return total;
}

// ce_row: z (V) becomes exp(z - max z); *sum gets its sum; returns -log softmax(z)[target].
KERNEL static float ce_row(float *z, int target, int V, double *sum) {
    float mx = -INFINITY;
    for (int i = 0; i < V; i++) mx = z[i] > mx ? z[i] : mx;
    const float zt = z[target];
    *sum = exp_shift(z, z, V, mx);
    return (float)((double)mx + log(*sum) - zt);
}

KERNEL static void scale_row(float *z, float k, int V) {
    #pragma omp simd
    for (int i = 0; i < V; i++) z[i] *= k;
}

void crossentropy_forward(float *losses, float *logits, const int *targets, size_t N, int V) {
    #pragma omp parallel for
    for (size_t n = 0; n < N; n++) {
        double s;
        losses[n] = ce_row(logits + n * V, targets[n], V, &s);
    }
}

void crossentropy_backward(float *dlogits, float *losses, const int *targets, float dloss, size_t N, int V) {
    #pragma omp parallel for
    for (size_t n = 0; n < N; n++) {
        float *z = dlogits + n * V;
        double s;
        losses[n] = ce_row(z, targets[n], V, &s);
        scale_row(z, (float)(dloss / s), V);
        z[targets[n]] -= dloss;
    }
}

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
