// fs.h — durable files and directories (POSIX) for checkpoints: fsync, atomic rename,
// sorted listing, recursive removal, CRC-32 (zlib) and SHA-256 (sha256.c) of a file,
// zlib streams.
#ifndef STRETCH_FS_H
#define STRETCH_FS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

// fsync_path: flush a file or a directory (its entries) to disk; dies naming the path.
void fsync_path(const char *path);
// rename_path: rename(2) from -> to (atomic on one file system); dies naming both.
void rename_path(const char *from, const char *to);
// finish_file: close f (written as tmp) and rename tmp over path, so that path is the old
// file or the whole new one; a failed close (a full disk) removes tmp and dies naming it.
void finish_file(FILE *f, const char *tmp, const char *path);
int is_dir(const char *path);
// list_dir: the entry names of dir (not . and ..), sorted by strcmp; *n gets the count.
// NULL with *n = 0 when dir cannot be opened. Free with free_list.
char **list_dir(const char *dir, size_t *n);
void free_list(char **names, size_t n);
// remove_tree: rm -rf path (absent is fine); dies naming the entry it cannot remove.
void remove_tree(const char *path);
// file_crc32: CRC-32 (zlib's crc32) and byte size of a file; 0 on success, -1 when it
// cannot be opened or read.
int file_crc32(const char *path, uint32_t *crc, uint64_t *size);
// file_sha256: the SHA-256 of a file as 64 lowercase hex digits (what sha256sum prints);
// 0 on success, -1 when it cannot be opened or read.
int file_sha256(const char *path, char hex[65]);
// zlib_deflate_file / zlib_inflate_file: copy src to dst through a zlib stream (level 6).
// inflate returns 0, or -1 with a reason in err when the stream is damaged or truncated.
void zlib_deflate_file(FILE *src, FILE *dst, const char *dst_path);
int zlib_inflate_file(FILE *src, FILE *dst, char *err, size_t cap);

#endif
