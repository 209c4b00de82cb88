/* SPDX-License-Identifier: MIT */
/*
 * cw_spool: write_cloudwatch's on-disk spool of request bodies that could
 * not be sent, so that an outage or a collectd restart loses nothing the
 * spool can hold. One spool serves every stream of a write_cloudwatch
 * block (metrics, host metrics, the data log): each batch says which kind
 * of request it is and where it goes, and is replayed there.
 *
 * A spool is one directory, used by one block (a lock file keeps a second
 * process or block out). Each batch is one file, named so that names sort
 * in the order batches were written, holding a short text header and the
 * request body, gzipped:
 *
 *   cw-spool 2\n
 *   kind metrics\n                      (or "logs")
 *   destination SageMaker/AsyncInference\n
 *   items 412\n
 *   oldest 1764187200.000\n
 *   length 5120\n
 *   crc32 1a2b3c4d\n
 *   \n
 *   <length bytes: the gzipped body>
 *
 * The destination is the namespace of a PutMetricData body, and
 * "GROUP:STREAM" for a PutLogEvents body (a log group name has no ':').
 * Files of the first version ("cw-spool 1", a "namespace" and a "datums"
 * line) are read as metrics. The spool of host metrics that earlier
 * versions kept in SpoolDirectory/host is moved into the spool at open.
 *
 * Files are written with sm_durable: a crash mid-write leaves at most a
 * temporary file, removed at the next open, and never touches the files
 * already there; 0600 in a 0700 directory. A file that fails its checks
 * when read (header, length, CRC, gzip) is renamed to NAME.corrupt, logged
 * by the caller and counted, and the spool goes on with the next.
 *
 * The spool holds at most max_bytes of files: writing beyond drops the
 * oldest files (the closest to CloudWatch's two-week limit) of any kind
 * and counts their items.
 *
 * collectd-free; not thread-safe (one sender thread uses it).
 */
#ifndef CW_SPOOL_H
#define CW_SPOOL_H 1

#include <stddef.h>
#include <stdint.h>

#define CW_SPOOL_DEFAULT_MAX_BYTES (64u * 1024u * 1024u)
#define CW_SPOOL_MIN_MAX_BYTES (1024u * 1024u)
/* The largest body a spool file may inflate to: a request body is at most
 * 1 MiB (PutMetricData's and PutLogEvents' limits); anything larger is not
 * ours. */
#define CW_SPOOL_MAX_BODY (2u * 1024u * 1024u)
/* A destination: a namespace (255), or a log group and stream (512 each)
 * and the ':' between. */
#define CW_SPOOL_DEST_MAX 1100
/* Items of one batch: PutLogEvents' 10,000 events is the larger limit. */
#define CW_SPOOL_MAX_ITEMS 10000

/* The kinds of request a spool holds. */
typedef enum {
  CW_SPOOL_METRICS = 0, /* PutMetricData: items are datums */
  CW_SPOOL_LOGS,        /* PutLogEvents: items are log events */
  CW_SPOOL_KINDS
} cw_spool_kind_t;

/* "metrics", "logs". */
const char *cw_spool_kind_name(cw_spool_kind_t k);

typedef struct cw_spool_s cw_spool_t;

typedef struct {
  uint64_t files;                              /* files held */
  uint64_t bytes;                              /* their size */
  uint64_t items[CW_SPOOL_KINDS];              /* items in them */
  uint64_t items_written[CW_SPOOL_KINDS];      /* spooled, since open */
  uint64_t items_dropped_full[CW_SPOOL_KINDS]; /* dropped for room */
  uint64_t files_corrupt; /* set aside as .corrupt, since open */
} cw_spool_stats_t;

/* One batch as the index knows it. */
typedef struct {
  uint64_t seq; /* the batch's place in the spool: higher is newer */
  cw_spool_kind_t kind;
  const char *dest; /* owned by the spool: valid until the batch goes */
  uint64_t items;
  double oldest; /* the oldest item's timestamp, epoch seconds */
  uint64_t size; /* the file's bytes */
} cw_spool_batch_t;

/* Opens (creating it 0700 if needed) the spool directory dir, takes its
 * lock, removes temporary files a crash left, moves in the files of an
 * earlier version's dir/host spool, and indexes the batch files (their
 * headers are checked now, their bodies when read). NULL with a line in
 * err when the directory cannot be created or used, or another process
 * holds it. Set-aside files are counted in files_corrupt and named in
 * *notes (unless NULL: a malloc'ed text for the log, or NULL when none). */
cw_spool_t *cw_spool_open(const char *dir, uint64_t max_bytes, char **notes,
                          char *err, size_t err_size);
void cw_spool_close(cw_spool_t *sp);

/* Writes one batch: body[0..len) (a request body of its kind for dest)
 * with its item count and oldest timestamp. Drops the oldest files first
 * when the spool would exceed max_bytes. Returns 0, or -1 with a line in
 * err (nothing written). */
int cw_spool_write(cw_spool_t *sp, cw_spool_kind_t kind, const char *dest,
                   const char *body, size_t len, size_t items, double oldest,
                   char *err, size_t err_size);

/* The oldest batch after seq after (0: from the start) of kind, and of
 * destination dest unless dest is NULL: 1 with *out filled, or 0 when
 * there is none. */
int cw_spool_next(const cw_spool_t *sp, uint64_t after, cw_spool_kind_t kind,
                  const char *dest, cw_spool_batch_t *out);

/* Reads batch seq's body (malloc'ed, NUL-terminated, *len without the
 * NUL). Returns 1; -2 when the file failed its checks or is gone (set
 * aside and out of the index; err says why); -1 when it could not be read
 * (an I/O error, in err; it stays). */
int cw_spool_read(cw_spool_t *sp, uint64_t seq, char **body, size_t *len,
                  char *err, size_t err_size);

/* Removes batch seq (sent, or dropped for good). */
void cw_spool_remove(cw_spool_t *sp, uint64_t seq);

void cw_spool_get_stats(const cw_spool_t *sp, cw_spool_stats_t *out);

/* ----------------------------------------------------- the file format */

/* Checks and decodes one spool file's bytes (header, length, CRC, gzip):
 * on 0, *body is the malloc'ed body (NUL-terminated) and *info the
 * header's fields (info->dest points into dest[dest_size]); on -1, err
 * says what is wrong. Exposed for tests and the fuzz target. */
int cw_spool_decode(const unsigned char *data, size_t size, char **body,
                    size_t *body_len, cw_spool_batch_t *info, char *dest,
                    size_t dest_size, char *err, size_t err_size);

#endif /* CW_SPOOL_H */
