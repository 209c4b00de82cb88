/* SPDX-License-Identifier: MIT */
/*
 * cw_spool: write_cloudwatch's on-disk spool of PutMetricData batches that
 * could not be sent, so that an outage or a collectd restart loses nothing
 * the spool can hold.
 *
 * A spool is one directory, used by one sender (a lock file keeps a second
 * process or block out). Each batch is one file, named so that names sort
 * in the order batches were written, holding a short text header and the
 * batch's PutMetricData body, gzipped:
 *
 *   cw-spool 1\n
 *   namespace SageMaker/AsyncInference\n
 *   datums 412\n
 *   oldest 1764187200.000\n
 *   length 5120\n
 *   crc32 1a2b3c4d\n
 *   \n
 *   <length bytes: the gzipped JSON body>
 *
 * Files are written atomically: to a temporary file in the directory,
 * fsync'ed, renamed into place, and the directory fsync'ed; a crash
 * mid-write leaves at most a temporary file, removed at the next open, and
 * never touches the files already there. Files and the directory are
 * created 0600 and 0700. A file that fails its checks when read (header,
 * length, CRC, gzip, JSON) is renamed to NAME.corrupt, logged by the
 * caller and counted, and the spool goes on with the next.
 *
 * The spool holds at most max_bytes of files: writing beyond drops the
 * oldest files (the closest to CloudWatch's two-week limit) and counts
 * their datums.
 *
 * collectd-free; not thread-safe (one sender thread uses it).
 */
#ifndef CW_SPOOL_H
#define CW_SPOOL_H 1

#include <stddef.h>
#include <stdint.h>

#include "cw_datum.h"

#define CW_SPOOL_DEFAULT_MAX_BYTES (64u * 1024u * 1024u)
#define CW_SPOOL_MIN_MAX_BYTES (1024u * 1024u)
/* The largest body a spool file may inflate to: a PutMetricData body is at
 * most 1 MiB (CW_ENCODE_MAX_BYTES); anything larger is not ours. */
#define CW_SPOOL_MAX_BODY (2u * 1024u * 1024u)

typedef struct cw_spool_s cw_spool_t;

typedef struct {
  uint64_t files;               /* files held */
  uint64_t bytes;               /* their size */
  uint64_t datums;              /* datums in them */
  uint64_t datums_written;      /* datums spooled, since open */
  uint64_t datums_dropped_full; /* dropped to stay within max_bytes */
  uint64_t files_corrupt;       /* set aside as .corrupt, since open */
} cw_spool_stats_t;

/* Opens (creating it 0700 if needed) the spool directory dir, takes its
 * lock, removes temporary files a crash left, and indexes the batch files
 * (their headers are checked now, their bodies when read). NULL with a line
 * in err when the directory cannot be created or used, or another process
 * holds it. Set-aside files are counted in files_corrupt and named in
 * *notes (unless NULL: a malloc'ed text for the log, or NULL when none). */
cw_spool_t *cw_spool_open(const char *dir, uint64_t max_bytes, char **notes,
                          char *err, size_t err_size);
void cw_spool_close(cw_spool_t *sp);

/* Writes one batch: body[0..len) (a PutMetricData body of namespace ns)
 * with its datum count and oldest timestamp. Drops the oldest files first
 * when the spool would exceed max_bytes. Returns 0, or -1 with a line in
 * err (nothing written). */
int cw_spool_write(cw_spool_t *sp, const char *ns, const char *body, size_t len,
                   size_t datums, double oldest, char *err, size_t err_size);

/* Reads the oldest batch: its body (malloc'ed, NUL-terminated, *len
 * without the NUL) and datum count. Returns 1, or 0 when the spool is
 * empty. A file that fails its checks is set aside (see above), described
 * in err, and -2 is returned: call again for the next. -1: the file could
 * not be read (I/O error, described in err); it stays. */
int cw_spool_peek(cw_spool_t *sp, char **body, size_t *len, size_t *datums,
                  char *err, size_t err_size);

/* Removes the oldest batch (the one cw_spool_peek returned). */
void cw_spool_pop(cw_spool_t *sp);

void cw_spool_get_stats(const cw_spool_t *sp, cw_spool_stats_t *out);
const char *cw_spool_dir(const cw_spool_t *sp);

/* ----------------------------------------------------- the file format */

/* Checks and decodes one spool file's bytes (header, length, CRC, gzip):
 * on 0, *body is the malloc'ed JSON body (NUL-terminated) and *datums the
 * header's count; on -1, err says what is wrong. Exposed for tests and the
 * fuzz target. */
int cw_spool_decode_file(const unsigned char *data, size_t size, char **body,
                         size_t *body_len, size_t *datums, char *ns,
                         size_t ns_size, char *err, size_t err_size);

/* Reads back a PutMetricData body this project wrote (cw_encode's JSON),
 * calling cb for each datum (valid during the call only). Returns the
 * number of datums, or -1 with a line in err when the body is not such a
 * body (nothing is called then). */
typedef void (*cw_spool_datum_cb)(const cw_datum_t *d, void *ud);
long cw_spool_parse_body(const char *body, size_t len, cw_spool_datum_cb cb,
                         void *ud, char *err, size_t err_size);

#endif /* CW_SPOOL_H */
