// fs.c — see fs.h.
#define _POSIX_C_SOURCE 200809L
#include "fs.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

void fsync_path(const char *path) {
    fault_write();
    int fd = open(path, O_RDONLY);
    if (fd < 0) die("%s: cannot open to sync: %s", path, strerror(errno));
    if (fsync(fd) != 0 && errno != EINVAL) die("%s: fsync failed: %s", path, strerror(errno));
    close(fd);
}

void rename_path(const char *from, const char *to) {
    fault_write();
    if (rename(from, to) != 0) die("cannot rename %s to %s: %s", from, to, strerror(errno));
}

void finish_file(FILE *f, const char *tmp, const char *path) {
    if (fclose(f) != 0) {
        const int e = errno;
        remove(tmp);
        die("%s: write failed: %s%s", tmp, strerror(e), e == ENOSPC || e == EFBIG ? " (disk full?)" : "");
    }
    rename_path(tmp, path);
}

int is_dir(const char *path) {
    struct stat s;
    return stat(path, &s) == 0 && S_ISDIR(s.st_mode);
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

char **list_dir(const char *dir, size_t *n) {
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return NULL;
    size_t cap = 16;
    char **names = xmalloc(cap * sizeof *names);
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (*n == cap) names = xrealloc(names, (cap *= 2) * sizeof *names);
        names[(*n)++] = xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, *n, sizeof *names, cmp_names);
    return names;
}

void free_list(char **names, size_t n) {
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

void remove_tree(const char *path) {
    struct stat s;
    if (lstat(path, &s) != 0) return;
    if (S_ISDIR(s.st_mode)) {
        size_t n;
        char **names = list_dir(path, &n);
        for (size_t i = 0; i < n; i++) {
            char *p = path_join(path, names[i]);
            remove_tree(p);
            free(p);
        }
        free_list(names, n);
        if (rmdir(path) != 0) die("%s: cannot remove the directory: %s", path, strerror(errno));
    } else if (unlink(path) != 0) {
        die("%s: cannot remove: %s", path, strerror(errno));
    }
}

int file_crc32(const char *path, uint32_t *crc, uint64_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    unsigned char *buf = xmalloc(1 << 20);
    uLong c = crc32(0L, Z_NULL, 0);
    uint64_t total = 0;
    size_t got;
    while ((got = fread(buf, 1, 1 << 20, f)) > 0) {
        c = crc32(c, buf, (uInt)got);
        total += got;
    }
    int bad = ferror(f);
    fclose(f);
    free(buf);
    *crc = (uint32_t)c;
    *size = total;
    return bad ? -1 : 0;
}

#define ZCHUNK (1 << 18)

void zlib_deflate_file(FILE *src, FILE *dst, const char *dst_path) {
    z_stream z = {0};
    CHECK(deflateInit(&z, 6) == Z_OK, "%s: zlib deflateInit failed", dst_path);
    unsigned char *in = xmalloc(ZCHUNK), *out = xmalloc(ZCHUNK);
    int flush;
    do {
        z.avail_in = (uInt)fread(in, 1, ZCHUNK, src);
        CHECK(!ferror(src), "%s: cannot read the data to compress", dst_path);
        flush = feof(src) ? Z_FINISH : Z_NO_FLUSH;
        z.next_in = in;
        do {
            z.avail_out = ZCHUNK;
            z.next_out = out;
            deflate(&z, flush);
            xfwrite(out, ZCHUNK - z.avail_out, dst, dst_path);
        } while (z.avail_out == 0);
    } while (flush != Z_FINISH);
    deflateEnd(&z);
    free(in);
    free(out);
}

int zlib_inflate_file(FILE *src, FILE *dst, char *err, size_t cap) {
    z_stream z = {0};
    if (inflateInit(&z) != Z_OK) return snprintf(err, cap, "zlib inflateInit failed"), -1;
    unsigned char *in = xmalloc(ZCHUNK), *out = xmalloc(ZCHUNK);
    int ret = Z_OK;
    while (ret != Z_STREAM_END) {
        z.avail_in = (uInt)fread(in, 1, ZCHUNK, src);
        if (z.avail_in == 0) break;
        z.next_in = in;
        do {
            z.avail_out = ZCHUNK;
            z.next_out = out;
            ret = inflate(&z, Z_NO_FLUSH);
            if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR) break;
            fwrite(out, 1, ZCHUNK - z.avail_out, dst);
        } while (z.avail_out == 0 && ret != Z_STREAM_END);
        if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR) break;
    }
    inflateEnd(&z);
    free(in);
    free(out);
    if (ret == Z_STREAM_END && !ferror(dst)) return 0;
    snprintf(err, cap, ret == Z_DATA_ERROR ? "the zlib stream is damaged" : "the zlib stream is truncated");
    return -1;
}
