// resume.c — how a training run starts: fresh on a new run directory, or from a
// checkpoint with --resume; and what a checkpoint of a running run records.
//   fresh      refused when checkpoints/<run>/ already holds a run (metrics.jsonl,
//              config.yaml or step_*), so nothing is overwritten by accident
//   --resume   the newest whole checkpoint of the run (a damaged one is reported and the
//              one before it used); a run directory that does not exist starts fresh
//   --resume P a step_N directory (must be whole) or a run directory (its newest); from
//              another run's checkpoint, only into a run directory that holds no run
// A run directory that does not take new files is refused before any step is trained.
// A running run holds a lock on checkpoints/<run>/LOCK (fcntl; released when the process
// ends, however it ends), so a second process cannot resume or start it meanwhile.
// Resuming restores weights, AdamW moments and step count, the data cursor, tokens seen,
// elapsed time, and cuts metrics.jsonl back to its length at the checkpoint, so the rows
// of steps redone are not duplicated; later checkpoints of the run are set aside (.stale). The trainer draws no random numbers while stepping:
// the data order is a function of (run.seed, epoch), restored through the cursor.
#define _XOPEN_SOURCE 700
#include "train.h"
#include "../util/fs.h"
#include "../util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void lock_run(const char *dir) {
    static int fd = -1;                  // held until the process ends (also by kill -9)
    if (fd >= 0) return;
    char *path = path_join(dir, "LOCK"), pid[32] = "";
    snprintf(pid, sizeof pid, ".write_probe.%ld", (long)getpid());
    char *probe = path_join(dir, pid);                // a read-only directory would otherwise
    int pfd = open(probe, O_WRONLY | O_CREAT | O_TRUNC, 0644);  // fail only at the first save
    if (pfd < 0)
        die("%s: the run directory does not take new files (%s): checkpoints, metrics.jsonl and models are "
            "written there; make it writable, or set run.name to train elsewhere", dir, strerror(errno));
    close(pfd);
    unlink(probe);
    free(probe);
    *pid = '\0';
    fd = open(path, O_RDWR | O_CREAT, 0644);
    if (fd < 0) die("%s: cannot open: %s", path, strerror(errno));
    struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_SETLK, &l) != 0) {
        ssize_t n = read(fd, pid, sizeof pid - 1);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        die("%s: another train process (pid %s) is running this run; wait for it or stop it (SIGTERM saves a "
            "checkpoint) before --resume", dir, *pid ? pid : "?");
    }
    snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || write(fd, pid, strlen(pid)) < 0) die("%s: cannot write the process id", path);
    free(path);
}

static int holds_run(const char *dir) {
    char *met = path_join(dir, "metrics.jsonl"), *cfg = path_join(dir, "config.yaml");
    int held = file_exists(met) || file_exists(cfg) || checkpoint_count(dir) > 0;
    free(met);
    free(cfg);
    return held;
}

// in_run_dir: checkpoint directory ckpt lies directly in run directory out_dir.
static int in_run_dir(const char *ckpt, const char *out_dir) {
    char *parent = xstrdup(ckpt), *ra = realpath(dirname(parent), NULL), *rb = realpath(out_dir, NULL);
    int same = ra && rb && !strcmp(ra, rb);
    free(parent);
    free(ra);
    free(rb);
    return same;
}

void refuse_overwrite(const Config *c) {
    if (holds_run(c->out_dir))
        die("%s already holds run '%s' (metrics.jsonl, config.yaml or checkpoints): pass --resume to continue it "
            "from its newest checkpoint, or set run.name (or remove the directory) to start a new run",
            c->out_dir, c->run_name);
}

char *resume_from(const Config *c, const Resume *r) {
    char err[512];
    if (!r->resume) return NULL;
    if (is_dir(c->out_dir)) {
        lock_run(c->out_dir);
        checkpoint_clean(c->out_dir);
    }
    if (r->path) {
        char *done = path_join(r->path, "DONE"), *found = NULL;
        if (file_exists(done)) {
            if (checkpoint_verify(r->path, err, sizeof err) != 0)
                die("--resume %s: damaged checkpoint: %s (hint: --resume the run directory to take its newest whole "
                    "checkpoint, or name an earlier step_*)", r->path, err);
            found = xstrdup(r->path);
        } else if (is_dir(r->path) && checkpoint_count(r->path)) {
            found = checkpoint_newest(r->path);
        }
        free(done);
        if (!found) die("--resume %s: neither a whole checkpoint (step_N/ with DONE) nor a run directory holding one", r->path);
        if (!in_run_dir(found, c->out_dir) && holds_run(c->out_dir))
            die("--resume %s: the checkpoint belongs to another run directory, and %s already holds run '%s'; set "
                "run.name to continue from it in a new run directory", r->path, c->out_dir, c->run_name);
        return found;
    }
    if (!holds_run(c->out_dir)) {
        printf("--resume: %s holds no run yet; starting run '%s'\n", c->out_dir, c->run_name);
        return NULL;
    }
    char *found = checkpoint_newest(c->out_dir);
    if (!found)
        die("--resume: %s has no whole checkpoint (the run stopped before its first save); remove the directory to "
            "start over, or set checkpoint.every", c->out_dir);
    return found;
}

// note_changes: what differs between the checkpoint's run and this one; resuming stays
// possible, but the result is bit-identical to an uninterrupted run only without changes.
static void note_changes(const Config *c, const char *ckpt, const TrainState *ts, long long total_steps, int threads,
                         int ranks) {
    char *cfg_path = path_join(ckpt, "config.yaml"), diff[1024];
    Config *old = xmalloc(sizeof *old);
    config_load(old, cfg_path, NULL, 0);
    snprintf(old->run_name, sizeof old->run_name, "%s", c->run_name);
    snprintf(old->out_dir, sizeof old->out_dir, "%s", c->out_dir);
    if (config_diff(old, c, diff, sizeof diff))
        printf("note: settings changed since the checkpoint (%s): %s; the rest of the run differs from an "
               "uninterrupted one\n", cfg_path, diff);
    if (ts->threads != threads)
        printf("note: the checkpoint ran with %d threads, this run with %d: results are bit-identical only with the "
               "same thread count\n", ts->threads, threads);
    if (ts->ranks != ranks)
        printf("note: the checkpoint ran on %d rank%s, this run on %d: the data and the moments are split anew; "
               "results match an uninterrupted run to float rounding, bit for bit only on the same rank count\n",
               ts->ranks, ts->ranks == 1 ? "" : "s", ranks);
    if (ts->total_steps != total_steps)
        printf("note: the run now has %lld steps (the checkpoint's run had %lld)\n", total_steps, ts->total_steps);
    free(old);
    free(cfg_path);
}

// cut_metrics: metrics.jsonl back to `bytes` (the rows up to the checkpoint).
static void cut_metrics(const char *path, long long bytes) {
    FILE *f = fopen(path, "rb");
    size_t size = f ? file_size(f, path) : 0;
    if (f) fclose(f);
    if (!f || (long long)size < bytes) {
        printf("note: %s is %s; rows before the checkpoint are missing\n", path, f ? "shorter than at the checkpoint" : "absent");
        return;
    }
    if ((long long)size > bytes) {
        if (truncate(path, (off_t)bytes) != 0) die("%s: cannot cut back to %lld bytes: %s", path, bytes, strerror(errno));
        printf("%s: dropped %lld bytes of rows written after the checkpoint\n", path, (long long)size - bytes);
    }
}

FILE *resume_restore(Run *r, const char *ckpt) {
    TrainState *ts = &r->ts;
    checkpoint_read_state(ckpt, ts);
    note_changes(r->c, ckpt, ts, r->plan.total_steps, r->threads, r->plan.ranks);
    ts->total_steps = r->plan.total_steps;           // later checkpoints record this run's plan
    ts->seed = r->c->seed;
    checkpoint_read_optimizer(ckpt, &r->m, &r->opt, ts->opt_t);
    loader_seek(&r->loader, ts->cursor);
    printf("resuming from %s: step %lld/%lld, stage %d, %lld tokens, data epoch %llu document %llu (+%llu tokens)\n",
           ckpt, ts->step, r->plan.total_steps, ts->stage + 1, ts->tokens, (unsigned long long)ts->cursor.epoch,
           (unsigned long long)ts->cursor.doc, (unsigned long long)ts->cursor.offset);
    if (!r->lead) return NULL;
    char *met = path_join(r->c->out_dir, "metrics.jsonl");
    const int own = in_run_dir(ckpt, r->c->out_dir);
    if (own) {
        cut_metrics(met, ts->metrics_bytes);
        checkpoint_set_aside(r->c->out_dir, ts->step);
    }
    FILE *f = xfopen(met, own ? "a" : "w");
    free(met);
    return f;
}
