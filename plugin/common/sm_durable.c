/* SPDX-License-Identifier: MIT */
/*
 * sm_durable: atomic files (see sm_durable.h).
 */
#include "sm_durable.h"
#include "sm_text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* name + suffix into buf; -1 when the name is unusable. */
static int with_suffix(char *buf, size_t size, const char *name,
                       const char *suffix) {
  int n;
  if (name == NULL || name[0] == 0 || strchr(name, '/') != NULL ||
      strlen(name) > SM_DURABLE_NAME_MAX)
    return -1;
  n = snprintf(buf, size, "%s%s", name, suffix);
  return n > 0 && (size_t)n < size ? 0 : -1;
}

int sm_durable_write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

static int make_dirs(const char *dir) {
  char *p = strdup(dir);
  int rc = 0;
  if (p == NULL)
    return -1;
  for (char *q = p + 1; *q != 0; q++) {
    if (*q != '/')
      continue;
    *q = 0;
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
      rc = -1;
    *q = '/';
  }
  if (mkdir(p, 0700) != 0 && errno != EEXIST)
    rc = -1;
  free(p);
  return rc;
}

int sm_durable_open_dir(const char *dir, int create, char *err,
                        size_t err_size) {
  int fd;

  if (dir == NULL || dir[0] != '/') {
    sm_text_printf(err, err_size, "%s: not an absolute path",
                   dir ? dir : "(none)");
    return -1;
  }
  if (create && make_dirs(dir) != 0) {
    sm_text_printf(err, err_size, "cannot create %s: %s", dir, strerror(errno));
    return -1;
  }
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    sm_text_printf(err, err_size, "cannot open %s: %s", dir, strerror(errno));
  return fd;
}

int sm_durable_prepare(int dir_fd, const char *name, const struct iovec *iov,
                       int iovcnt, char *err, size_t err_size) {
  char tmp[SM_DURABLE_NAME_MAX + 16];
  const char *step = NULL;
  int fd, e = 0;

  if (with_suffix(tmp, sizeof(tmp), name, SM_DURABLE_TMP_SUFFIX) != 0) {
    sm_text_printf(err, err_size, "\"%s\" is not a file name",
                   name ? name : "");
    return -1;
  }
  /* A stale temporary file (of a process killed before its rename) is
   * replaced; O_EXCL and O_NOFOLLOW make sure the file written is a new
   * one of ours, not whatever a link points to. */
  unlinkat(dir_fd, tmp, 0);
  fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0600);
  if (fd < 0)
    step = "create";
  for (int i = 0; step == NULL && i < iovcnt; i++)
    if (sm_durable_write_all(fd, iov[i].iov_base, iov[i].iov_len) != 0)
      step = "write";
  if (step == NULL && fsync(fd) != 0)
    step = "fsync";
  e = errno;
  if (fd >= 0)
    close(fd);
  if (step != NULL) {
    if (fd >= 0)
      unlinkat(dir_fd, tmp, 0);
    sm_text_printf(err, err_size, "%s %s: %s", step, tmp, strerror(e));
    return -1;
  }
  return 0;
}

int sm_durable_commit(int dir_fd, const char *name, char *err,
                      size_t err_size) {
  char tmp[SM_DURABLE_NAME_MAX + 16];

  if (with_suffix(tmp, sizeof(tmp), name, SM_DURABLE_TMP_SUFFIX) != 0) {
    sm_text_printf(err, err_size, "\"%s\" is not a file name",
                   name ? name : "");
    return -1;
  }
  if (renameat(dir_fd, tmp, dir_fd, name) != 0) {
    int e = errno;
    unlinkat(dir_fd, tmp, 0);
    sm_text_printf(err, err_size, "rename %s to %s: %s", tmp, name,
                   strerror(e));
    return -1;
  }
  /* The rename is durable once the directory is. */
  if (fsync(dir_fd) != 0) {
    sm_text_printf(err, err_size, "%s renamed, but fsync of its directory: %s",
                   name, strerror(errno));
    return -1;
  }
  return 0;
}

int sm_durable_write(int dir_fd, const char *name, const struct iovec *iov,
                     int iovcnt, char *err, size_t err_size) {
  if (sm_durable_prepare(dir_fd, name, iov, iovcnt, err, err_size) != 0)
    return -1;
  return sm_durable_commit(dir_fd, name, err, err_size);
}

unsigned char *sm_durable_read(int dir_fd, const char *name, size_t max,
                               size_t *size, int *errnum) {
  int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  struct stat st;
  unsigned char *buf;
  size_t got = 0;

  *errnum = 0;
  *size = 0;
  if (fd < 0) {
    *errnum = errno;
    return NULL;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      (uint64_t)st.st_size > (uint64_t)max) {
    *errnum = fstat(fd, &st) != 0    ? errno
              : !S_ISREG(st.st_mode) ? EINVAL
                                     : EFBIG;
    close(fd);
    return NULL;
  }
  buf = malloc((size_t)st.st_size + 1);
  if (buf == NULL) {
    *errnum = ENOMEM;
    close(fd);
    return NULL;
  }
  while (got < (size_t)st.st_size) {
    ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      *errnum = errno;
      free(buf);
      close(fd);
      return NULL;
    }
    if (r == 0)
      break; /* shorter than it was: take what is there */
    got += (size_t)r;
  }
  close(fd);
  buf[got] = 0;
  *size = got;
  return buf;
}

int sm_durable_set_aside(int dir_fd, const char *name, char *err,
                         size_t err_size) {
  char aside[SM_DURABLE_NAME_MAX + 16] = "";

  if (with_suffix(aside, sizeof(aside), name, SM_DURABLE_ASIDE_SUFFIX) == 0 &&
      renameat(dir_fd, name, dir_fd, aside) == 0)
    return 0;
  sm_text_printf(err, err_size, "cannot rename %s to %s: %s; removed", name,
                 aside[0] ? aside : "?", strerror(errno));
  unlinkat(dir_fd, name, 0);
  return -1;
}
