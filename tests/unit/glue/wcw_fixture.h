/* SPDX-License-Identifier: MIT */
/*
 * wcw_fixture: what the unit tests of write_cloudwatch's glue share. They
 * run the glue as collectd runs it, through the stand-in of the daemon
 * (tests/fakes/collectd_stubs.h): module_register, a <Plugin
 * write_cloudwatch> block to the config callback, values to the write
 * callback, notifications to the notification callback. What they expect
 * comes from the documents (README.md, tests/data/metrics.tsv,
 * contrib/types.db), read from $SM_SRCDIR.
 */
#ifndef WCW_FIXTURE_H
#define WCW_FIXTURE_H 1

#include "collectd_stubs.h"
#include "wcw.h"

/* The file relpath of the source tree ($SM_SRCDIR, else "."), whole and
 * NUL-terminated (malloc'ed), or NULL (noted) when it cannot be read. */
char *fx_source(const char *relpath);

/* Once per program: an environment where the AWS code finds a region and
 * credentials and has nothing to ask (no instance metadata, no files),
 * the types of contrib/types.db and of extra (types.db lines, or NULL),
 * and the plugin registered. 0, or -1 (noted). */
int fx_init(const char *extra_types);

/* Configures one <Plugin write_cloudwatch> block with these option lines
 * (one per line, as in collectd.conf). Returns the block, as registered
 * with its write callback, or NULL when the config callback refused it
 * (*status, unless NULL, is its result). Blocks are numbered from 1 in
 * the order configured, refused ones too (fx_block_number). */
wcw_t *fx_block(const char *options, int *status);
/* The number of the block fx_block configured last ("block N"). */
int fx_block_number(void);
/* Options that keep a block local: endpoints where nothing listens, and
 * a shutdown that does not wait. */
#define FX_LOCAL                                                               \
  "Endpoint \"http://127.0.0.1:9/\"\nLogsEndpoint \"http://127.0.0.1:9/\"\n"   \
  "ShutdownTimeout 0\nFlushInterval 3600\n"
/* Frees every block, as collectd's shutdown does, after emptying its
 * queues as if everything had been sent (nothing is sent). */
void fx_free_blocks(void);

/* The data set of a type (contrib/types.db or the extra types). */
const data_set_t *fx_ds(const char *type);

/* The names sagemaker_async's values and notifications carry here. */
#define EP "ep-1"
#define VARIANT "AllTraffic"

/* sagemaker_async's meta data of a value list (NULL: left out). */
meta_data_t *fx_sm_meta(const char *endpoint, const char *variant,
                        const char *sketch);
/* Hands a value list to the write callbacks, as collectd's writer
 * threads do: v[i] as its data source's type (fx_ds), interval 10 s; md
 * is consumed. Returns the callbacks that failed, or -1 (noted) when the
 * type is unknown or n is not its number of data sources. */
int fx_write(const char *host, const char *plugin, const char *pi,
             const char *type, const char *ti, const double *v, size_t n,
             cdtime_t t, meta_data_t *md);
/* Sends the notification sagemaker_async sends for a failed request (see
 * README "What it dispatches") to the notification callbacks
 * (stub_notify), then frees it: from plugin, of type, inference ID "req-1"
 * on EP/variant, outcome model_error in stage model, status 500, error
 * "container replied 500", boot "boot-1", seq 1043, received 2 s before
 * completed_ms; variant and instance left out when NULL. */
void fx_notify_request(const char *plugin, const char *type,
                       const char *variant, const char *instance,
                       int64_t completed_ms);

/* The datums the block queued, sealed as the sender seals them at a
 * flush, copied into out (at most max; free each with cw_datum_free),
 * and removed from the queue as if sent. Returns how many. */
size_t fx_take(wcw_t *w, cw_queue_t *q, cw_datum_t **out, size_t max);
void fx_free_datums(cw_datum_t **d, size_t n);

/* The dimension of that name of d, or NULL. */
const char *fx_dim(const cw_datum_t *d, const char *name);

/* README.md's section that starts with the heading line (e.g. "### What
 * it publishes"), up to the next heading of its level or above: a
 * pointer into readme and its length; NULL when absent. */
const char *fx_section(const char *readme, const char *heading, size_t *len);

/* The cells of a Markdown table row ("| a | b |"): up to max cells,
 * blanks trimmed, copied into cells[i] (each cell_size bytes). Returns
 * the number of cells, or 0 when line is not a table row. */
size_t fx_row(const char *line, size_t line_len, char cells[][256], size_t max);

#endif /* WCW_FIXTURE_H */
