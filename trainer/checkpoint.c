// checkpoint.c — see checkpoint.h. The fault-injection hook STRETCH_FAULT (used by
// tests/test_resume.sh) kills the process with SIGKILL at a named point of a save:
// "kill-in-checkpoint:K" after the weights of step K are written and before its
// optimizer state, "kill-after-checkpoint:K" right after step K's checkpoint is whole.
#define _POSIX_C_SOURCE 200809L
#include "checkpoint.h"
#include "../model/formats.h"
#include "../util/fs.h"
#include "../util/util.h"

#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define DONE_HEADER "stretch checkpoint v1"

static void fault(const char *point, long long step) {
    if (fault_at(point, step)) {
        fflush(stdout);
        fprintf(stderr, "stretch: STRETCH_FAULT=%s:%lld: killing the process\n", point, step);
        raise(SIGKILL);
    }
}

// step_dir: run_dir/step_NNNNNNNN.
static char *step_dir(const char *run_dir, long long step) {
    char name[32];
    snprintf(name, sizeof name, "step_%08lld", step);
    return path_join(run_dir, name);
}

// is_step_name: "step_" + 8+ digits + exactly `suffix`.
static int is_step_name(const char *name, const char *suffix) {
    if (strncmp(name, "step_", 5)) return 0;
    const char *p = name + 5;
    while (*p >= '0' && *p <= '9') p++;
    return p - name >= 13 && !strcmp(p, suffix);
}

static void write_optimizer(const char *dir, const Model *m, const AdamW *opt, int compress) {
    ParamTensors mv, vv;
    model_views(m, opt->m, &mv);
    model_views(m, opt->v, &vv);
    StTensor *t = xcalloc(2 * (size_t)NUM_PARAMS * (size_t)m->cfg.n_layers, sizeof(StTensor));
    size_t n = state_tensors(&m->cfg, &mv, "exp_avg.", t);
    n += state_tensors(&m->cfg, &vv, "exp_avg_sq.", t + n);
    char steps[32];
    snprintf(steps, sizeof steps, "%lld", opt->t);
    const char *keys[2] = {"format", "t"}, *vals[2] = {"stretch-adamw", steps};
    char *path = path_join(dir, "optimizer.safetensors");
    st_write(path, t, n, keys, vals, 2);
    if (compress) {
        char *zpath = path_join(dir, "optimizer.safetensors.zlib");
        FILE *src = xfopen(path, "rb"), *dst = xfopen(zpath, "wb");
        zlib_deflate_file(src, dst, zpath);
        fclose(src);
        if (fclose(dst) != 0) die("%s: write failed", zpath);
        remove(path);
        free(zpath);
    }
    free(path);
    free(t);
}

static void write_state(const char *path, const TrainState *s) {
    FILE *f = xfopen(path, "w");
    fprintf(f, "{\n  \"format\": \"stretch-trainer-state\", \"version\": 1,\n"
            "  \"step\": %lld, \"total_steps\": %lld, \"tokens\": %lld, \"reason\": \"%s\",\n"
            "  \"stage\": %d, \"seq_len\": %d, \"trained_seq_len\": %d,\n"
            "  \"data\": {\"epoch\": %" PRIu64 ", \"doc\": %" PRIu64 ", \"offset\": %" PRIu64 ", \"seed\": %lld},\n"
            "  \"optimizer\": {\"name\": \"adamw\", \"t\": %lld},\n"
            "  \"schedule\": {\"step\": %lld, \"lr\": %.17g},\n"
            "  \"elapsed_s\": %.17g, \"metrics_bytes\": %lld, \"threads\": %d, \"ranks\": %d\n}\n",
            s->step, s->total_steps, s->tokens, s->reason, s->stage + 1, s->seq_len, s->trained_seq_len,
            s->cursor.epoch, s->cursor.doc, s->cursor.offset, s->seed, s->opt_t, s->step, s->lr, s->elapsed,
            s->metrics_bytes, s->threads, s->ranks);
    if (fclose(f) != 0) die("%s: write failed", path);
}

// write_done: DONE lists "crc32 size name" of every file, then the directory is synced;
// returns the bytes of those files.
static uint64_t write_done(const char *dir) {
    uint64_t bytes = 0;
    size_t n;
    char **names = list_dir(dir, &n);
    char *done = path_join(dir, "DONE");
    FILE *f = xfopen(done, "w");
    fprintf(f, "%s\n", DONE_HEADER);
    for (size_t i = 0; i < n; i++) {
        char *p = path_join(dir, names[i]);
        uint32_t crc;
        uint64_t size;
        fsync_path(p);
        if (file_crc32(p, &crc, &size) != 0) die("%s: cannot read back what was just written", p);
        fprintf(f, "%08" PRIx32 " %" PRIu64 " %s\n", crc, size, names[i]);
        bytes += size;
        free(p);
    }
    if (fclose(f) != 0) die("%s: write failed", done);
    fsync_path(done);
    fsync_path(dir);
    free(done);
    free_list(names, n);
    return bytes;
}

// discard: rename dir to dir.del (from then on never taken for a checkpoint), then remove it.
static void discard(const char *dir) {
    char *del = with_suffix(dir, ".del");
    rename_path(dir, del);
    remove_tree(del);
    free(del);
}

// prune: keep the newest `keep` whole checkpoints; older ones are renamed to .del (no
// longer taken for whole) and removed.
static void prune(const char *run_dir, long long keep) {
    size_t n;
    char **names = list_dir(run_dir, &n);
    size_t whole = 0;
    for (size_t i = n; i-- > 0;) {
        if (!is_step_name(names[i], "")) continue;
        char *dir = path_join(run_dir, names[i]), *done = path_join(dir, "DONE");
        if (file_exists(done) && ++whole > (size_t)keep) {
            discard(dir);
            printf("checkpoint.keep_last %lld: removed %s\n", keep, dir);
        }
        free(dir);
        free(done);
    }
    free_list(names, n);
}

char *checkpoint_save(const char *run_dir, const Model *m, const AdamW *opt, const TrainState *ts, const Config *c) {
    double t0 = now_seconds();
    char *dir = step_dir(run_dir, ts->step), *tmp = with_suffix(dir, ".tmp"), train_json[256];
    remove_tree(tmp);
    make_dirs(tmp);
    char *model = path_join(tmp, "model.safetensors"), *state = path_join(tmp, "trainer_state.json");
    char *cfg = path_join(tmp, "config.yaml");
    train_state_json(ts, train_json, sizeof train_json);
    save_state(m, train_json, model);
    fault("kill-in-checkpoint", ts->step);
    write_optimizer(tmp, m, opt, c->ckpt_compress);
    write_state(state, ts);
    config_write(c, cfg);
    const uint64_t bytes = write_done(tmp);
    char *old = is_dir(dir) ? with_suffix(dir, ".del") : NULL;   // the same step saved before: replaced
    if (old) rename_path(dir, old);
    rename_path(tmp, dir);
    fsync_path(run_dir);
    if (old) remove_tree(old);
    free(old);
    printf("checkpoint %s (%s): %.1f MB in %.2fs\n", dir, ts->reason, (double)bytes / 1e6, now_seconds() - t0);
    fflush(stdout);
    fault("kill-after-checkpoint", ts->step);
    if (c->ckpt_keep_last > 0) prune(run_dir, c->ckpt_keep_last);
    free(model);
    free(state);
    free(cfg);
    free(tmp);
    return dir;
}

int checkpoint_verify(const char *dir, char *err, size_t cap) {
    char *done = path_join(dir, "DONE");
    FILE *f = fopen(done, "r");
    free(done);
    if (!f) return snprintf(err, cap, "no DONE marker: the save did not finish"), -1;
    char line[512];
    int ok = fgets(line, sizeof line, f) && !strncmp(line, DONE_HEADER "\n", sizeof DONE_HEADER);
    if (!ok) snprintf(err, cap, "DONE does not start with '%s'", DONE_HEADER);
    int seen_model = 0, seen_opt = 0, seen_state = 0, lines = 0;
    while (ok && fgets(line, sizeof line, f)) {
        uint32_t want_crc, crc;
        uint64_t want_size, size;
        char name[256];
        if (sscanf(line, "%8" SCNx32 " %" SCNu64 " %255s", &want_crc, &want_size, name) != 3 || strchr(name, '/')) {
            ok = 0;
            snprintf(err, cap, "DONE line %d is malformed", lines + 2);
            break;
        }
        lines++;
        char *p = path_join(dir, name);
        if (file_crc32(p, &crc, &size) != 0) ok = 0, snprintf(err, cap, "%s is missing or unreadable", name);
        else if (size != want_size)
            ok = 0, snprintf(err, cap, "%s has %" PRIu64 " bytes, DONE records %" PRIu64 " (truncated?)", name, size, want_size);
        else if (crc != want_crc)
            ok = 0, snprintf(err, cap, "%s has CRC-32 %08" PRIx32 ", DONE records %08" PRIx32 " (corrupted)", name, crc, want_crc);
        free(p);
        seen_model |= !strcmp(name, "model.safetensors");
        seen_opt |= !strncmp(name, "optimizer.safetensors", 21);
        seen_state |= !strcmp(name, "trainer_state.json");
    }
    fclose(f);
    if (ok && !(seen_model && seen_opt && seen_state))
        ok = 0, snprintf(err, cap, "DONE lacks model.safetensors, optimizer.safetensors or trainer_state.json");
    return ok ? 0 : -1;
}

char *checkpoint_newest(const char *run_dir) {
    size_t n;
    char **names = list_dir(run_dir, &n), *found = NULL, err[512];
    for (size_t i = n; i-- > 0 && !found;) {
        if (!is_step_name(names[i], "")) continue;
        char *dir = path_join(run_dir, names[i]);
        if (checkpoint_verify(dir, err, sizeof err) == 0) found = dir;
        else {
            fprintf(stderr, "stretch: checkpoint %s is not usable: %s; trying the one before it\n", dir, err);
            free(dir);
        }
    }
    free_list(names, n);
    return found;
}

void train_state_json(const TrainState *ts, char *buf, size_t cap) {
    snprintf(buf, cap, "{\"step\": %lld, \"tokens\": %lld, \"seq_len\": %d}", ts->step, ts->tokens, ts->trained_seq_len);
}

void checkpoint_set_aside(const char *run_dir, long long step) {
    size_t n;
    char **names = list_dir(run_dir, &n);
    for (size_t i = 0; i < n; i++) {
        if (!is_step_name(names[i], "") || atoll(names[i] + 5) <= step) continue;
        char *p = path_join(run_dir, names[i]), *to = with_suffix(p, ".stale");
        remove_tree(to);
        rename_path(p, to);
        printf("set aside %s as %s: it continues the run past the checkpoint resumed from\n", p, to);
        free(p);
        free(to);
    }
    free_list(names, n);
}

size_t checkpoint_count(const char *run_dir) {
    size_t n, k = 0;
    char **names = list_dir(run_dir, &n);
    for (size_t i = 0; i < n; i++) k += !strncmp(names[i], "step_", 5);
    free_list(names, n);
    return k;
}

void checkpoint_clean(const char *run_dir) {
    size_t n;
    char **names = list_dir(run_dir, &n);
    for (size_t i = 0; i < n; i++) {
        if (!is_step_name(names[i], ".tmp") && !is_step_name(names[i], ".del")) continue;
        char *p = path_join(run_dir, names[i]);
        remove_tree(p);
        printf("removed %s, left by an interrupted checkpoint save or prune\n", p);
        free(p);
    }
    free_list(names, n);
}

static yaml_node_t *state_node(YTree *t, yaml_node_t *map, const char *key) {
    yaml_node_t *n = ymap_get(t, map, key);
    if (!n) yfail(t, map, "'%s' is missing", key);
    return n;
}

static long long state_int(YTree *t, yaml_node_t *map, const char *key) {
    yaml_node_t *n = state_node(t, map, key);
    long long v = yint(t, n, key);
    if (v < 0) yfail(t, n, "'%s' = %lld must not be negative", key, v);
    return v;
}

static yaml_node_t *state_map(YTree *t, yaml_node_t *map, const char *key) {
    yaml_node_t *n = ymap_get(t, map, key);
    if (!n || n->type != YAML_MAPPING_NODE) yfail(t, map, "'%s' must be an object", key);
    return n;
}

void checkpoint_read_state(const char *dir, TrainState *s) {
    char *path = path_join(dir, "trainer_state.json");
    size_t len;
    char *text = read_file(path, &len);
    YTree t;
    ytree_parse(&t, path, text, len);
    yaml_node_t *r = ytree_root(&t), *n;
    if (r->type != YAML_MAPPING_NODE || !(n = ymap_get(&t, r, "format")) ||
        strcmp(yscalar(&t, n, "format"), "stretch-trainer-state"))
        yfail(&t, r, "not a stretch trainer state (format 'stretch-trainer-state')");
    if (state_int(&t, r, "version") != 1) yfail(&t, r, "trainer state version %lld is not 1", state_int(&t, r, "version"));
    memset(s, 0, sizeof *s);
    s->step = state_int(&t, r, "step");
    s->total_steps = state_int(&t, r, "total_steps");
    s->tokens = state_int(&t, r, "tokens");
    s->stage = (int)state_int(&t, r, "stage") - 1;
    s->seq_len = (int)state_int(&t, r, "seq_len");
    s->trained_seq_len = (int)state_int(&t, r, "trained_seq_len");
    yaml_node_t *d = state_map(&t, r, "data"), *o = state_map(&t, r, "optimizer"), *sc = state_map(&t, r, "schedule");
    s->cursor = (LoaderCursor){(uint64_t)state_int(&t, d, "epoch"), (uint64_t)state_int(&t, d, "doc"),
                               (uint64_t)state_int(&t, d, "offset")};
    s->seed = state_int(&t, d, "seed");
    s->opt_t = state_int(&t, o, "t");
    s->lr = ydouble(&t, state_node(&t, sc, "lr"), "schedule.lr");
    s->elapsed = ydouble(&t, state_node(&t, r, "elapsed_s"), "elapsed_s");
    s->metrics_bytes = state_int(&t, r, "metrics_bytes");
    s->threads = (int)state_int(&t, r, "threads");
    s->ranks = ymap_get(&t, r, "ranks") ? (int)state_int(&t, r, "ranks") : 1;    // not recorded before MPI
    if (s->ranks < 1) yfail(&t, ymap_get(&t, r, "ranks"), "'ranks' = %d must be at least 1", s->ranks);
    snprintf(s->reason, sizeof s->reason, "%s", yscalar(&t, state_node(&t, r, "reason"), "reason"));
    ytree_free(&t);
    free(text);
    free(path);
}

void checkpoint_read_optimizer(const char *dir, const Model *m, AdamW *opt, long long t) {
    char *plain = path_join(dir, "optimizer.safetensors"), *zpath = path_join(dir, "optimizer.safetensors.zlib");
    Safetensors st;
    if (file_exists(plain)) st_open(&st, plain);
    else {
        FILE *src = xfopen(zpath, "rb"), *tmp = tmpfile();
        char err[128];
        CHECK(tmp, "%s: cannot create a temporary file to inflate into", zpath);
        if (zlib_inflate_file(src, tmp, err, sizeof err) != 0) die("%s: %s", zpath, err);
        fclose(src);
        rewind(tmp);
        st_open_stream(&st, tmp, zpath);
    }
    const char *fmt = st_metadata(&st, "format");
    if (!fmt || strcmp(fmt, "stretch-adamw")) die("%s: __metadata__.format is not 'stretch-adamw'", st.path);
    const int part = opt->n != m->num_params;          // a rank's part: read all, keep it
    AdamW all = *opt;
    if (part) adamw_init(&all, 0, m->num_params);
    ParamTensors mv, vv;
    model_views(m, all.m, &mv);
    model_views(m, all.v, &vv);
    st_load_params(st_resolve_single, &st, &m->cfg, &mv, "exp_avg.", LAYOUT_INTERLEAVED);
    st_load_params(st_resolve_single, &st, &m->cfg, &vv, "exp_avg_sq.", LAYOUT_INTERLEAVED);
    if (part) {
        memcpy(opt->m, all.m + opt->lo, opt->n * sizeof *opt->m);
        memcpy(opt->v, all.v + opt->lo, opt->n * sizeof *opt->v);
        adamw_free(&all);
    }
    opt->t = t;
    st_close(&st);
    free(plain);
    free(zpath);
}
