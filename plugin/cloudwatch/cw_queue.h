/* SPDX-License-Identifier: MIT */
/*
 * cw_queue: write_cloudwatch's bounded store of datums between collectd's
 * write threads and the sender thread.
 *
 * Values arrive as statistic sets (a gauge sample is a set of one) and are
 * merged per series and storage-resolution period while they wait, so the
 * datums sent per flush do not grow with the collection rate: one datum
 * per series and period per flush. A merged datum carries the period's
 * start as its timestamp; a later value of a period already sent becomes
 * another datum of the same period, which CloudWatch aggregates.
 *
 * cw_queue_seal() (the sender, at each flush) turns the merged datums into
 * ready ones, oldest period first; the sender takes ready datums in
 * batches and removes them only once CloudWatch accepted them, so a batch
 * that fails stays at the front and is sent again.
 *
 * A timing may come with the sketch of its samples (cw_queue_add_sketch):
 * sketches merge per series and period like the statistic sets, and
 * sealing turns a period's sketch into Values/Counts datums of at most
 * CW_MAX_VALUES values each (see sm_sketch.h), which together carry
 * exactly the statistic set's SampleCount, Sum, Minimum and Maximum. The
 * period is published as its statistic set instead (and counted as a
 * fallback) when a value of the period came without a sketch, when the
 * sketch disagrees with the statistic set, or when its datums would not
 * fit within max_datums: percentiles are given up before data is.
 *
 * At most max_datums datums are held, merged and ready together (a merging
 * datum with a sketch counts as one; its sketch is bounded by its
 * max_buckets). Adding beyond that drops the oldest ready datum not being
 * sent (or, with none, the oldest merged one) and counts it.
 *
 * Memory: a series (name, unit, resolution, dimensions) is stored once
 * whatever its number of datums; a datum is a fixed-size record (about 56
 * bytes ready, 72 merging) plus its Values/Counts when it has some. See
 * CW_QUEUE_DATUM_BYTES and cw_queue_memory().
 *
 * collectd-free; not thread-safe (the caller locks).
 */
#ifndef CW_QUEUE_H
#define CW_QUEUE_H 1

#include <stddef.h>
#include <stdint.h>

#include "cw_datum.h"
#include "sm_sketch.h"

typedef struct cw_queue_s cw_queue_t;

typedef enum {
  CW_QUEUE_NEW = 0, /* a new datum for its series and period */
  CW_QUEUE_MERGED,  /* merged into the datum of its series and period */
  CW_QUEUE_NOMEM,   /* out of memory: not added */
  CW_QUEUE_INVALID, /* not a statistic set with samples: not added */
  CW_QUEUE_FULL,    /* full of datums being sent: not added, counted */
} cw_queue_result_t;

cw_queue_t *cw_queue_create(size_t max_datums);
void cw_queue_destroy(cw_queue_t *q);

/* Adds a datum of kind CW_KIND_STATS (copied). Its timestamp is moved to
 * the start of its period (of its storage resolution). The caller has
 * validated it. */
cw_queue_result_t cw_queue_add(cw_queue_t *q, const cw_datum_t *d);

/* Adds a datum of kind CW_KIND_STATS with the sketch of its samples
 * (copied; NULL is the same as cw_queue_add). */
cw_queue_result_t cw_queue_add_sketch(cw_queue_t *q, const cw_datum_t *d,
                                      const sm_sketch_t *sketch);

/* The hash that identifies d's series (name, unit, resolution,
 * dimensions): a pure function of d, so that a caller may compute it
 * before taking the lock that guards the queue. */
uint64_t cw_queue_series_hash(const cw_datum_t *d);

/* cw_queue_add_sketch with d's series hash already computed
 * (cw_queue_series_hash). */
cw_queue_result_t cw_queue_add_hashed(cw_queue_t *q, const cw_datum_t *d,
                                      uint64_t series_hash,
                                      const sm_sketch_t *sketch);

/* Makes every merged datum ready (a period with a sketch becomes one or
 * more Values/Counts datums). Returns how many became ready. */
size_t cw_queue_seal(cw_queue_t *q);

/* The i-th ready datum from the front (0 is the oldest), or NULL. A view
 * of the queue's record: valid until the next cw_queue_ready_get or any
 * change of the queue. */
const cw_datum_t *cw_queue_ready_get(cw_queue_t *q, size_t i);

/* Marks the n oldest ready datums as being sent: they are not dropped to
 * make room while the caller, unlocked, waits for CloudWatch. n is capped
 * at the ready datums. Returns n. */
size_t cw_queue_claim(cw_queue_t *q, size_t n);

/* Ends a claim: the claimed datums are removed when done is non-zero
 * (sent, or refused for good), else they stay at the front for the next
 * attempt. */
void cw_queue_release(cw_queue_t *q, int done);

size_t cw_queue_ready_num(const cw_queue_t *q);
size_t cw_queue_merging_num(const cw_queue_t *q);
/* Datums held in all, against max_datums. */
size_t cw_queue_size(const cw_queue_t *q);

/* What a queue holds at most per datum, on average, when it is full of
 * statistic sets of series that each have several datums (the README's
 * bound; tests/unit/cloudwatch/test_cw_queue.c checks it). */
#define CW_QUEUE_DATUM_BYTES 150

/* The bytes the queue holds now: its records, its series, its index and
 * tables, the sketches and values of its datums. */
size_t cw_queue_memory(const cw_queue_t *q);

/* Datums dropped because the queue was full, since creation. */
uint64_t cw_queue_dropped(const cw_queue_t *q);

/* Periods given with sketches but published as statistic sets (see
 * above), since creation. */
uint64_t cw_queue_sketch_fallbacks(const cw_queue_t *q);

#endif /* CW_QUEUE_H */
