/* SPDX-License-Identifier: MIT */
/*
 * aws_file: a capped read of a small local file (see aws_file.h).
 */
#include "aws_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

aws_file_rc_t aws_file_read(const char *path, const char *shown, size_t max,
                            aws_file_sink_t sink, void *ud, char *msg,
                            size_t size) {
  char buf[4096];
  struct stat st;
  size_t total = 0;
  aws_file_rc_t rc = AWS_FILE_READ;
  /* O_NONBLOCK: opening a FIFO must not hang the caller. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      return AWS_FILE_ABSENT;
    snprintf(msg, size, "%s: %s", shown, strerror(errno));
    return AWS_FILE_ERROR;
  }
  if (fstat(fd, &st) != 0) {
    snprintf(msg, size, "%s: %s", shown, strerror(errno));
    rc = AWS_FILE_ERROR;
  } else if (!S_ISREG(st.st_mode)) {
    snprintf(msg, size, "%s: not a regular file", shown);
    rc = AWS_FILE_ERROR;
  } else if ((uintmax_t)st.st_size > max) {
    snprintf(msg, size, "%s: larger than %zu bytes", shown, max);
    rc = AWS_FILE_ERROR;
  }
  while (rc == AWS_FILE_READ) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      snprintf(msg, size, "%s: %s", shown, strerror(errno));
      rc = AWS_FILE_ERROR;
    } else if (n == 0) {
      break;
    } else if ((size_t)n > max - total) {
      snprintf(msg, size, "%s: larger than %zu bytes", shown, max);
      rc = AWS_FILE_ERROR;
    } else {
      total += (size_t)n;
      if (sink(ud, buf, (size_t)n) != 0)
        rc = AWS_FILE_REFUSED;
    }
  }
  explicit_bzero(buf, sizeof(buf));
  close(fd);
  return rc;
}
