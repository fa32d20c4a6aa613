// softmax.c — the vector exp of every softmax and cross-entropy (see layers.h); the
// chunked LM head that calls it is in layers.c, beside the matmul it also calls.
#include "layers.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

// exp_poly: exp(d) = 2^k exp(r), k = round(d / ln 2) (adding and subtracting 1.5 * 2^23
// rounds, and leaves k + 1.5 * 2^23 in the low bits of kr), r = d - k ln 2 (ln 2 split in
// two for exactness), exp(r) by Cephes' degree-6 minimax polynomial on |r| <= ln(2)/2
// (Moshier, Cephes expf.c). d is clamped to [-87, 88] so 2^k stays a normal float; below
// -87 (exp < 1.7e-38, and -INFINITY) the result is 0. The bits of 2^k are (k + 127) << 23,
// taken from kr's bits by memcpy (the compiler's vector bit casts). A NaN d stays NaN
// (through r and the clamps, which keep it).
static inline float exp_poly(float d) {
    const float a0 = d > 88.0f ? 88.0f : d, a = a0 < -87.0f ? -87.0f : a0;
    const float kr = a * 1.44269504088896341f + 12582912.0f, k = kr - 12582912.0f;
    const float r = a - k * 0.693359375f - k * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    int32_t kb;
    float two_k;
    memcpy(&kb, &kr, sizeof kb);
    kb = d < -87.0f ? 0 : (int32_t)((uint32_t)(kb - 0x4B400000 + 127) << 23);   // the bits of 2^k, or of 0
    memcpy(&two_k, &kb, sizeof two_k);
    return (p * r * r + r + 1.0f) * two_k;
}

// EXP_SUM(T): y[i] = exp_poly(x[i] - shift) for i < n, and their sum: element i adds to
// lane i % EXP_LANES, a T each; the lanes are then added as a fixed tree (lane j += lane
// j + w for w = 8, 4, 2, 1). The sum's order is thus fixed by the code, the same at every
// ISA level, and every add is a vertical vector add (no horizontal sum per block).
enum { EXP_LANES = 16 };
#define EXP_SUM(T)                                                                                                     \
    T lane[EXP_LANES] = {0};                                                                                           \
    int i = 0;                                                                                                         \
    for (; i + EXP_LANES <= n; i += EXP_LANES) {                                                                       \
        _Pragma("omp simd") for (int j = 0; j < EXP_LANES; j++) {                                                      \
            y[i + j] = exp_poly(x[i + j] - shift);                                                                     \
            lane[j] += y[i + j];                                                                                       \
        }                                                                                                              \
    }                                                                                                                  \
    _Pragma("omp simd") for (int j = 0; j < n - i; j++) {                                                              \
        y[i + j] = exp_poly(x[i + j] - shift);                                                                         \
        lane[j] += y[i + j];                                                                                           \
    }                                                                                                                  \
    for (int w = EXP_LANES / 2; w > 0; w /= 2)                                                                         \
        for (int j = 0; j < w; j++) lane[j] += lane[j + w];                                                            \
    return lane[0];

// exp_shift: lanes of doubles, for rows of any length (a vocabulary's 32000 logits).
KERNEL double exp_shift(float *y, const float *x, int n, float shift) { EXP_SUM(double) }

// exp_shift_short: lanes of floats, for rows of at most a few hundred (an attention
// tile's 128 keys: each lane adds 8 terms in [0, 1]). The same y as exp_shift; the sum
// skips two conversions and two adds per 16 exps.
KERNEL float exp_shift_short(float *y, const float *x, int n, float shift) { EXP_SUM(float) }

// exp_sub: exp_shift's exps without its sum: the same exp_poly per element, so the same
// bits, without the double lanes (two conversions and two adds per 16) and their
// 16-term sum at the end of each call.
KERNEL void exp_sub(float *y, const float *x, int n, float shift) {
    #pragma omp simd
    for (int i = 0; i < n; i++) y[i] = exp_poly(x[i] - shift);
}

// row_max: lane j keeps the max of elements j, j + ROW_LANES, ...; the lanes are
// combined in order. The max of the non-NaN values does not depend on the order (up to
// the sign of a zero max, which no caller can tell: it is a shift).
enum { ROW_LANES = 16 };

KERNEL float row_max(const float *x, int n, float init) {
    float lane[ROW_LANES];
    int i = 0;
    for (int j = 0; j < ROW_LANES; j++) lane[j] = init;
    for (; i + ROW_LANES <= n; i += ROW_LANES) {
        #pragma omp simd
        for (int j = 0; j < ROW_LANES; j++) lane[j] = x[i + j] > lane[j] ? x[i + j] : lane[j];
    }
    float mx = init;
    for (int j = 0; j < ROW_LANES; j++) mx = lane[j] > mx ? lane[j] : mx;
    for (; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    return mx;
}

// ce_row: z (V) becomes exp(z - max z); *sum gets its sum; returns -log softmax(z)[target].
KERNEL static float ce_row(float *z, int target, int V, double *sum) {
    const float mx = row_max(z, V, -INFINITY);
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
