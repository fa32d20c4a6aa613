// bench.c — `make bench`: throughput of a training step of stories260K at T=512 on the
// staged data, split into forward, backward and optimizer, as medians over several
// steps after a warm-up. usage: bench [MODEL SHARD [T B REPEATS THREADS]]
#include "../data/data.h"
#include "../model/formats.h"
#include "../trainer/optim.h"
#include "../trainer/run.h"
#include "../util/util.h"

#include <stdlib.h>

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *x, int n) {
    qsort(x, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

int main(int argc, char **argv) {
    const char *model_path = argc > 1 ? argv[1] : "checkpoints/base/stories260K.bin";
    const char *shard_path = argc > 2 ? argv[2] : "data/tinystories/train.bin";
    int T = argc > 3 ? atoi(argv[3]) : 512, B = argc > 4 ? atoi(argv[4]) : 8;
    int R = argc > 5 ? atoi(argv[5]) : 7, threads = setup_threads(argc > 6 ? atoi(argv[6]) : 0);
    CHECK(T > 0 && B > 0 && R > 0 && R <= 100, "bench: T, B and REPEATS must be positive (REPEATS <= 100)");
    Model m;
    Shard s;
    Loader l;
    AdamW opt;
    load_model(&m, model_path);
    shard_load(&s, shard_path, m.cfg.vocab);
    model_prepare(&m, B, T);
    loader_init(&l, &s, 1, T);
    adamw_init(&opt, m.num_params);
    int *in = xmalloc((size_t)B * T * sizeof(int)), *tg = xmalloc((size_t)B * T * sizeof(int));
    double fwd[100], bwd[100], opt_t[100], step[100];
    for (int r = -1; r < R; r++) {                  // r = -1 warms up caches and threads
        loader_next(&l, in, tg, B, T);
        double t0 = now_seconds();
        model_zero_grad(&m);
        model_forward(&m, in, tg, B, T);
        double t1 = now_seconds();
        model_backward(&m, in, tg, 1.0f);
        double t2 = now_seconds();
        adamw_step(&opt, &m, 1e-5f, 0.9f, 0.95f, 1e-8f, 0.0f);
        double t3 = now_seconds();
        if (r < 0) continue;
        fwd[r] = t1 - t0; bwd[r] = t2 - t1; opt_t[r] = t3 - t2; step[r] = t3 - t0;
    }
    double tok = (double)B * T, ms = median(step, R);
    printf("bench: %s, %zu params, B %d x T %d = %.0f tokens per step, %d threads, median of %d steps\n",
           model_path, m.num_params, B, T, tok, threads, R);
    printf("  forward   %8.1f ms\n  backward  %8.1f ms\n  optimizer %8.1f ms\n", 1e3 * median(fwd, R),
           1e3 * median(bwd, R), 1e3 * median(opt_t, R));
    printf("  step      %8.1f ms  ->  %.0f tokens/s (training), %.0f tokens/s (forward only)\n", 1e3 * ms, tok / ms,
           tok / median(fwd, R));
    free(in); free(tg);
    adamw_free(&opt);
    shard_free(&s);
    model_free(&m);
    return 0;
}
