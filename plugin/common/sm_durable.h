/* SPDX-License-Identifier: MIT */
/*
 * sm_durable: files that a crash or a kill never leaves half written, for
 * the read plugin's state file and the writer's spool.
 *
 * A write goes to NAME.tmp in the same directory (created 0600 with
 * O_EXCL and O_NOFOLLOW, so a link planted there is never followed; a
 * stale NAME.tmp of a killed process is replaced), is fsync'ed, then
 * renamed over NAME, and the directory is fsync'ed so that the rename
 * itself survives a power loss. A process killed at any point leaves
 * either the old NAME or the new one, and at most a NAME.tmp, which the
 * next write replaces. The two steps are separate calls so that a caller
 * may do something between them (the read plugin dispatches its values
 * between writing its cursor and committing it).
 *
 * A file found damaged when read is renamed NAME.corrupt, kept for a
 * person to look at, never read again.
 *
 * Everything is relative to a directory file descriptor, so that the
 * directory is looked up once and cannot be swapped underneath.
 * collectd-free; no global state.
 */
#ifndef SM_DURABLE_H
#define SM_DURABLE_H 1

#include <stddef.h>
#include <sys/uio.h>

#define SM_DURABLE_TMP_SUFFIX ".tmp"
#define SM_DURABLE_ASIDE_SUFFIX ".corrupt"
/* Longest NAME (without the suffixes). */
#define SM_DURABLE_NAME_MAX 200

/* Opens dir (creating it and its missing parents 0700 when create is
 * non-zero) for the calls below. The descriptor, or -1 with a message. */
int sm_durable_open_dir(const char *dir, int create, char *err,
                        size_t err_size);

/* Step one: writes the parts, in order, to NAME.tmp and fsyncs it. 0, or
 * -1 with a message naming the step that failed (nothing is left
 * behind). */
int sm_durable_prepare(int dir_fd, const char *name, const struct iovec *iov,
                       int iovcnt, char *err, size_t err_size);

/* Step two: renames NAME.tmp over NAME and fsyncs the directory. 0, or -1
 * with a message (a failed fsync of the directory after the rename is
 * reported, the file is in place). */
int sm_durable_commit(int dir_fd, const char *name, char *err, size_t err_size);

/* Both steps. */
int sm_durable_write(int dir_fd, const char *name, const struct iovec *iov,
                     int iovcnt, char *err, size_t err_size);

/* Reads a whole regular file of at most max bytes, without following a
 * link, into a malloc'ed buffer (NUL-terminated, the NUL not counted in
 * *size). NULL with *errnum set: ENOENT (absent), ELOOP (a link), EFBIG
 * (larger than max), EINVAL (not a regular file), or the I/O error. */
unsigned char *sm_durable_read(int dir_fd, const char *name, size_t max,
                               size_t *size, int *errnum);

/* Renames NAME to NAME.corrupt (replacing an older one); when that fails,
 * removes NAME so that it is not read again. 0 when renamed, -1 else (with
 * a message). */
int sm_durable_set_aside(int dir_fd, const char *name, char *err,
                         size_t err_size);

/* write(2) until everything is written (EINTR retried). 0 or -1. */
int sm_durable_write_all(int fd, const void *buf, size_t len);

#endif /* SM_DURABLE_H */
