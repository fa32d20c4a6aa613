// main.c — ./train: command-line entry point.
//   train --config F [--set key=value ...] [--resume [PATH]]   fine-tune (the default)
//   train eval --config F [--set key=value ...]   evaluate model.init_from on data.val
//   train prepare --input F --tokenizer T --out D  tokenize text/JSONL (.gz, .zst) into token shards
//   train positions --config F [--set ...]        what the position scheme does, per pair
//   train export --from SRC --to DEST --format hf|llama2c|gguf   a model in other formats
//   train compare RUN_DIR... [--out F.svg] [...]  loss curves of runs side by side
//   train info MODEL                              print a checkpoint's shape
//   train sample --model SRC --out F --tokens N   text sampled from a model, as a shard
//   train score --model SRC --data F --tokens N   log p of each next token of a window
//   train tokenize --tokenizer T [FILE...] < text the ids of a text
// Under `mpirun -np N`, training and `train eval` run on N ranks (dist/dist.h); the
// other subcommands are one-process tools and refuse to run on more than one rank.
#include "eval.h"
#include "export.h"
#include "positions.h"
#include "report.h"
#include "sample.h"
#include "setup.h"
#include "train.h"
#include "../dist/dist.h"
#include "../model/blas.h"
#include "../util/util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const char *USAGE =
    "usage: train --config F [--set key=value ...] [--resume [PATH]]   fine-tune (see configs/); --resume\n"
    "                                                     continues the run (or PATH: a checkpoint or run dir)\n"
    "       train eval --config F [--set key=value ...]   evaluate model.init_from on data.val\n"
    "       train prepare --input FILE|GLOB --tokenizer T --out DIR [--val-fraction X] [--story-start P]\n"
    "                     [--field text] [--shard-tokens N] [--threads N] [--skip-bad-lines] (`train prepare` lists all)\n"
    "       train positions --config F [--set key=value ...]   the position scheme, per rotary pair\n"
    "       train export --from SRC --to DEST --format hf|llama2c|gguf [--dtype f32|f16] [--tokenizer T]\n"
    "       train compare RUN_DIR... [--out FILE.svg] [--metric loss|val_loss] [--x tokens|steps] [--log-y]\n"
    "       train info MODEL                              print a checkpoint's shape\n"
    "       train sample --model SRC --out FILE --tokens N [--temperature X] [--seed S] [--max-len L] [--tokenizer T]\n"
    "       train score --model SRC --data SHARD --tokens N [--offset K]   log p of each next token\n"
    "       train tokenize --tokenizer T [--no-bos] [FILE...]  the ids of stdin's text, one per line, or of each FILE, one line each\n";

static int info_main(int argc, char **argv) {
    static const char usage[] = "usage: train info MODEL (a llama2.c or GGUF file, Hugging Face directory, stretch "
                                "state, checkpoint or run directory)";
    if (wants_help(argc, argv)) {
        printf("%s\n  prints the model's shape, parameter count and position scheme\n", usage);
        return 0;
    }
    if (argc != 1) die("%s", usage);
    Model m;
    const ModelConfig *c = &m.cfg;
    Config *dflt = xmalloc(sizeof *dflt);
    config_load(dflt, NULL, NULL, 0);
    free(load_model_from(&m, dflt, argv[0], NULL));
    char *pos = position_json(&m.pos, POS_JSON_SCHEME, c->rope_theta);
    printf("%s: dim %d, hidden %d, layers %d, heads %d, kv heads %d, head size %d, vocab %d, %s head,\n"
           "  norm_eps %g, rope_theta %g, max_seq_len %d, %zu parameters, position %s\n",
           argv[0], c->dim, c->hidden, c->n_layers, c->n_heads, c->n_kv_heads, c->dim / c->n_heads, c->vocab,
           c->tied ? "tied" : "untied", c->norm_eps, c->rope_theta, c->max_seq_len, m.num_params, pos);
    model_free(&m);
    free(pos);
    free(dflt);
    return 0;
}

// same_config: every rank was started with the same settings (the CRC-32 of the resolved
// configuration's text); else rank 0 names the keys of the first rank that differs.
static void same_config(const Config *c) {
    const int N = dist_size();
    if (N == 1) return;
    char *text = config_text(c);
    unsigned *crc = xmalloc((size_t)N * sizeof *crc);
    dist_gather_u32((unsigned)crc32(0L, (const Bytef *)text, (uInt)strlen(text)), crc);
    int k = 1;
    while (k < N && crc[k] == crc[0]) k++;
    free(text);
    free(crc);
    if (k == N) return;
    Config *other = xmalloc(sizeof *other);
    memcpy(other, c, sizeof *other);
    dist_bcast(other, sizeof *other, k);
    char diff[1024];
    config_diff(c, other, diff, sizeof diff);
    die("rank %d was started with other settings than rank 0 (%s): every rank must run the same --config and --set",
        k, *diff ? diff : "the configuration");
}

// run_command: the subcommand argv names; its exit code.
static int run_command(int argc, char **argv) {
    const char *cmd = "train", *config = NULL;
    Resume resume = {0, NULL};
    int i = 1;
    if (argc > 1 && argv[1][0] != '-') cmd = argv[i++];
    if (dist_size() > 1 && strcmp(cmd, "train") && strcmp(cmd, "eval"))
        die("train %s runs as one process, not on %d ranks: run it without mpirun", cmd, dist_size());
    if (!strcmp(cmd, "prepare")) return prepare_main(argc - i, argv + i);
    if (!strcmp(cmd, "info")) return info_main(argc - i, argv + i);
    if (!strcmp(cmd, "export")) return export_main(argc - i, argv + i);
    if (!strcmp(cmd, "compare")) return compare_main(argc - i, argv + i);
    if (!strcmp(cmd, "sample")) return sample_main(argc - i, argv + i);
    if (!strcmp(cmd, "score")) return score_main(argc - i, argv + i);
    if (!strcmp(cmd, "tokenize")) return tokenize_main(argc - i, argv + i);
    static const char *const CMDS[] = {"eval", "prepare", "positions", "export", "compare", "info", "sample", "score",
                                       "tokenize"};
    const char *near = nearest(cmd, CMDS, sizeof CMDS / sizeof *CMDS);
    if (strcmp(cmd, "train") && strcmp(cmd, "eval") && strcmp(cmd, "positions"))
        die("unknown subcommand '%s'%s%s%s (the subcommands: eval, prepare, positions, export, compare, info, sample, "
            "score, tokenize; see train --help)", cmd, near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    char **sets = xmalloc((size_t)argc * sizeof(char *));
    int n_sets = 0;
    for (; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(USAGE, stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--resume")) {          // an optional PATH follows
            if (strcmp(cmd, "train")) die("--resume applies to training only");
            resume.resume = 1;
            if (i + 1 < argc && argv[i + 1][0] != '-') resume.path = argv[++i];
            continue;
        }
        if (i + 1 >= argc) die("%s needs a value (see train --help)", argv[i]);
        if (!strcmp(argv[i], "--config")) config = argv[++i];
        else if (!strcmp(argv[i], "--set")) sets[n_sets++] = argv[++i];
        else die("unknown option '%s' (see train --help)", argv[i]);
    }
    char *own_config = NULL;                          // --resume PATH alone: the run's own config
    if (!config && resume.path) config = own_config = path_join(resume.path, "config.yaml");
    if (!config) die("--config is required (see train --help)");
    Config c;
    config_load(&c, config, sets, n_sets);
    free(sets);
    free(own_config);
    if (!strcmp(cmd, "positions")) return positions_main(&c);
    same_config(&c);
    return !strcmp(cmd, "eval") ? eval_main(&c) : train_main(&c, &resume);
}

int main(int argc, char **argv) {
    blas_fit_kernels(argv);       // may run this process again, with OPENBLAS_CORETYPE set
    signal(SIGXFSZ, SIG_IGN);     // past a file-size limit (ulimit -f) a write fails with EFBIG, and the
                                  // writer names the file, instead of the signal killing the process
    dist_init(&argc, &argv);
    const int rc = run_command(argc, argv);
    dist_finalize();
    return rc;
}
