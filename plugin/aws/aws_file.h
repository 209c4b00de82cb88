/* SPDX-License-Identifier: MIT */
/*
 * aws_file: reads a small local file (a shared config or credentials file,
 * an authorization token file) into a sink, with a cap, without hanging on
 * a FIFO, and wipes its buffer afterwards: the bytes may be secrets.
 *
 * collectd-free.
 */
#ifndef SM_AWS_FILE_H
#define SM_AWS_FILE_H 1

#include <stddef.h>

typedef enum {
  AWS_FILE_READ,    /* fed whole to the sink */
  AWS_FILE_ABSENT,  /* no such file (or a path component is not a folder) */
  AWS_FILE_ERROR,   /* msg says why, naming the file as shown */
  AWS_FILE_REFUSED, /* the sink returned non-zero: its own state says why */
} aws_file_rc_t;

/* Takes the next len bytes; 0 to go on. */
typedef int (*aws_file_sink_t)(void *ud, const char *data, size_t len);

/* Feeds the regular file at path to sink, at most max bytes (a larger file
 * is an AWS_FILE_ERROR). shown is how messages name it ("~/.aws/config"). */
aws_file_rc_t aws_file_read(const char *path, const char *shown, size_t max,
                            aws_file_sink_t sink, void *ud, char *msg,
                            size_t size);

#endif /* SM_AWS_FILE_H */
