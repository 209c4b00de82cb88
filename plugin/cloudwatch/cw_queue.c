/* SPDX-License-Identifier: MIT */
/*
 * cw_queue: merge-per-period, bounded datum queue (see cw_queue.h).
 *
 * Compact by design, since it holds up to millions of datums on a host
 * that runs models:
 *   - a series (metric name, unit, storage resolution, dimensions) is
 *     interned: one block holds its strings, whatever the number of its
 *     datums, and goes with its last datum;
 *   - a merging datum is a fixed-size record in one array (the series, the
 *     period, the statistic set, an optional sketch), found by (series,
 *     period) in an index of 32-bit slots; the series remembers its latest
 *     record, the usual target of the next value;
 *   - a ready datum is a fixed-size record in a ring (the series, the
 *     period, the statistic set or the Values/Counts block), so no ready
 *     datum is a heap block of its own unless it carries values. The ring
 *     grows with the datums it holds, up to max_datums (a ring's pages go
 *     round and would all be touched in the end, were it allocated whole),
 *     and shrinks back when it empties.
 * Large arrays are grown and shrunk with realloc, never freed before the
 * queue is: freeing a block glibc had mapped on its own (128 KiB and
 * more) raises its mmap threshold for the whole process, as far as
 * 32 MiB, after which the arenas of collectd's threads keep what large
 * blocks leave behind; realloc moves and resizes such a block with mremap
 * and leaves the threshold alone.
 * Datums are handed out as a view (cw_queue_ready_get), built from the
 * record and its series.
 */
#include "cw_queue.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm_hash.h"

typedef struct {
  uint64_t hash;
  uint32_t refs;  /* records (merging and ready) of this series */
  int32_t latest; /* its latest merging record, or -1 */
  uint32_t num_dims;
  int storage_resolution;
  cw_unit_t unit;
  size_t bytes; /* the block's size */
  const char *name;
  cw_dimension_t dims[]; /* then the strings */
} series_t;

typedef struct {
  series_t *s; /* NULL: a free record */
  double period;
  cw_statset_t stats;
  sm_sketch_t *sketch; /* owned; NULL when none */
  uint32_t order;      /* arrival of its first value, within the flush */
  bool no_sketch;      /* a value of the period came without one */
  bool had_sketch;     /* a value of the period came with one */
} merging_t;

typedef struct {
  series_t *s;
  double period;
  cw_kind_t kind; /* CW_KIND_STATS or CW_KIND_VALUES */
  uint32_t num_values;
  union {
    cw_statset_t stats;
    double *values; /* num_values values, then num_values counts */
  } u;
} ready_t;

struct cw_queue_s {
  size_t max_datums;

  series_t **series; /* open addressing by hash; NULL: empty */
  size_t series_cap, series_num;
  size_t series_bytes;

  merging_t *recs; /* merging records; the first merging_used are in use
                      or free */
  size_t merging_cap, merging_used, merging;
  uint32_t *index; /* open addressing by (series, period): record + 1 */
  size_t index_cap;
  uint32_t order;

  ready_t *ready; /* ring of ready_cap, at most max_datums */
  size_t ready_cap;
  size_t ready_head;
  size_t ready_num;
  size_t claimed;      /* ready datums at the front being sent */
  size_t values_bytes; /* the Values/Counts blocks of ready datums */

  cw_datum_t view; /* what cw_queue_ready_get hands out */
  uint64_t dropped;
  uint64_t fallbacks;
};

/* ------------------------------------------------------------ hashing */

uint64_t cw_queue_series_hash(const cw_datum_t *d) {
  uint64_t h = sm_hash_str(0, d->metric_name);
  h = sm_hash_u64(h, (uint64_t)d->unit << 16 | (uint64_t)d->storage_resolution);
  for (size_t i = 0; i < d->num_dims; i++) {
    h = sm_hash_str(h, d->dims[i].name);
    h = sm_hash_str(h, d->dims[i].value);
  }
  return h;
}

static bool series_is(const series_t *s, uint64_t h, const cw_datum_t *d) {
  if (s->hash != h || s->num_dims != d->num_dims || s->unit != d->unit ||
      s->storage_resolution != d->storage_resolution ||
      strcmp(s->name, d->metric_name) != 0)
    return false;
  for (size_t i = 0; i < d->num_dims; i++)
    if (strcmp(s->dims[i].name, d->dims[i].name) != 0 ||
        strcmp(s->dims[i].value, d->dims[i].value) != 0)
      return false;
  return true;
}

static uint64_t record_hash(const series_t *s, double period) {
  return sm_hash_u64(s->hash, (uint64_t)(int64_t)period);
}

/* ------------------------------------------------------------ series */

static size_t series_slot(const cw_queue_t *q, uint64_t h,
                          const cw_datum_t *d) {
  size_t i = (size_t)h & (q->series_cap - 1);
  while (q->series[i] != NULL && !series_is(q->series[i], h, d))
    i = (i + 1) & (q->series_cap - 1);
  return i;
}

static int series_grow(cw_queue_t *q) {
  size_t cap = q->series_cap * 2;
  series_t **t = calloc(cap, sizeof(*t));
  if (t == NULL)
    return -1;
  for (size_t i = 0; i < q->series_cap; i++) {
    series_t *s = q->series[i];
    size_t j;
    if (s == NULL)
      continue;
    j = (size_t)s->hash & (cap - 1);
    while (t[j] != NULL)
      j = (j + 1) & (cap - 1);
    t[j] = s;
  }
  free(q->series);
  q->series = t;
  q->series_cap = cap;
  return 0;
}

static char *place(char **p, const char *s) {
  size_t n = strlen(s) + 1;
  char *at = *p;
  memcpy(at, s, n);
  *p += n;
  return at;
}

/* The series of d, interned when new. NULL when out of memory. */
static series_t *series_get(cw_queue_t *q, const cw_datum_t *d, uint64_t h) {
  size_t i = series_slot(q, h, d), size;
  series_t *s;
  char *p;

  if (q->series[i] != NULL)
    return q->series[i];
  if ((q->series_num + 1) * 2 > q->series_cap) {
    if (series_grow(q) != 0)
      return NULL;
    i = series_slot(q, h, d);
  }
  size = sizeof(*s) + d->num_dims * sizeof(cw_dimension_t) +
         strlen(d->metric_name) + 1;
  for (size_t k = 0; k < d->num_dims; k++)
    size += strlen(d->dims[k].name) + strlen(d->dims[k].value) + 2;
  s = malloc(size);
  if (s == NULL)
    return NULL;
  s->hash = h;
  s->refs = 0;
  s->latest = -1;
  s->num_dims = (uint32_t)d->num_dims;
  s->storage_resolution = d->storage_resolution;
  s->unit = d->unit;
  s->bytes = size;
  p = (char *)&s->dims[d->num_dims];
  s->name = place(&p, d->metric_name);
  for (size_t k = 0; k < d->num_dims; k++) {
    s->dims[k].name = place(&p, d->dims[k].name);
    s->dims[k].value = place(&p, d->dims[k].value);
  }
  q->series[i] = s;
  q->series_num++;
  q->series_bytes += size;
  return s;
}

/* One record fewer of s; the last takes s with it (linear probing:
 * the entries after it move back so that no chain breaks). */
static void series_unref(cw_queue_t *q, series_t *s) {
  size_t i, j, mask = q->series_cap - 1;

  if (--s->refs > 0)
    return;
  i = (size_t)s->hash & mask;
  while (q->series[i] != s)
    i = (i + 1) & mask;
  q->series[i] = NULL;
  for (j = (i + 1) & mask; q->series[j] != NULL; j = (j + 1) & mask) {
    size_t home = (size_t)q->series[j]->hash & mask;
    /* Moves back when its home is not within (i, j]. */
    if ((j > i && (home <= i || home > j)) ||
        (j < i && home <= i && home > j)) {
      q->series[i] = q->series[j];
      q->series[j] = NULL;
      i = j;
    }
  }
  q->series_num--;
  q->series_bytes -= s->bytes;
  free(s);
}

/* ------------------------------------------------------------ merging */

/* Records kept across seals (64 KiB); beyond, the array shrinks back. */
#define MERGING_KEEP 1024
/* Ready records kept when the ring empties (14 KiB). */
#define READY_KEEP 256

static size_t index_slot(const cw_queue_t *q, const series_t *s,
                         double period) {
  size_t mask = q->index_cap - 1;
  size_t i = (size_t)record_hash(s, period) & mask;
  while (q->index[i] != 0) {
    const merging_t *m = &q->recs[q->index[i] - 1];
    if (m->s == s && m->period == period)
      break;
    i = (i + 1) & mask;
  }
  return i;
}

/* Sizes the index to cap slots and fills it from the records. In place
 * (realloc): the records say what it holds. */
static int index_build(cw_queue_t *q, size_t cap) {
  if (cap != q->index_cap) {
    uint32_t *t = realloc(q->index, cap * sizeof(*t));
    if (t == NULL)
      return -1;
    q->index = t;
    q->index_cap = cap;
  }
  memset(q->index, 0, cap * sizeof(*q->index));
  for (size_t r = 0; r < q->merging_used; r++)
    if (q->recs[r].s != NULL)
      q->index[index_slot(q, q->recs[r].s, q->recs[r].period)] =
          (uint32_t)r + 1;
  return 0;
}

/* arr (*cap elements of size bytes) grown to hold need > *cap: to twice
 * *cap, but no fewer than least (nor than need) and no more than most.
 * The new array (*cap updated), or NULL when need is over most or memory
 * is short (arr and *cap as they were). */
static void *array_grow(void *arr, size_t *cap, size_t need, size_t least,
                        size_t most, size_t size) {
  size_t c = *cap * 2;
  void *p;

  if (c < least)
    c = least;
  if (c < need)
    c = need;
  if (c > most)
    c = most;
  if (c < need || (p = realloc(arr, c * size)) == NULL)
    return NULL;
  *cap = c;
  return p;
}

/* A free record; -1 when out of memory. */
static int merging_new(cw_queue_t *q) {
  if (q->merging_used == q->merging_cap) {
    merging_t *m = array_grow(q->recs, &q->merging_cap, q->merging_used + 1, 64,
                              q->max_datums + 1, sizeof(*m));
    if (m == NULL)
      return -1;
    q->recs = m;
  }
  if ((q->merging_used + 1) * 2 > q->index_cap &&
      index_build(q, q->index_cap * 2) != 0)
    return -1;
  return (int)q->merging_used++;
}

/* Takes record r out: its sketch, its series' reference, its index slot
 * (the index is rebuilt: drops of merging datums are rare). */
static void merging_drop(cw_queue_t *q, size_t r) {
  merging_t *m = &q->recs[r];
  series_t *s = m->s;

  sm_sketch_destroy(m->sketch);
  if (s->latest == (int32_t)r)
    s->latest = -1;
  m->s = NULL;
  m->sketch = NULL;
  q->merging--;
  series_unref(q, s);
  index_build(q, q->index_cap);
}

/* ------------------------------------------------------------ ready */

static ready_t *ready_at(const cw_queue_t *q, size_t i) {
  return &q->ready[(q->ready_head + i) % q->ready_cap];
}

/* Makes room in the ring for n ready datums (n <= max_datums). 0, or -1
 * when out of memory (the ring is as it was). */
static int ready_reserve(cw_queue_t *q, size_t n) {
  size_t old = q->ready_cap, cap;
  ready_t *r;

  if (n <= q->ready_cap)
    return 0;
  r = array_grow(q->ready, &q->ready_cap, n, READY_KEEP, q->max_datums,
                 sizeof(*r));
  if (r == NULL)
    return -1;
  q->ready = r;
  cap = q->ready_cap;
  /* A ring that wraps: the records from its head to the old end move to
   * the new end, so that the ring goes on in order. */
  if (q->ready_num > 0 && q->ready_head + q->ready_num > old) {
    memmove(r + cap - (old - q->ready_head), r + q->ready_head,
            (old - q->ready_head) * sizeof(*r));
    q->ready_head += cap - old;
  }
  return 0;
}

/* An empty ring shrinks back to READY_KEEP records: the memory of a
 * burst, or of an outage, is given back. */
static void ready_shrink(cw_queue_t *q) {
  ready_t *r;

  if (q->ready_num > 0 || q->ready_cap <= READY_KEEP)
    return;
  r = realloc(q->ready, READY_KEEP * sizeof(*r));
  if (r == NULL)
    return;
  q->ready = r;
  q->ready_cap = READY_KEEP;
  q->ready_head = 0;
}

static void ready_free(cw_queue_t *q, ready_t *r) {
  if (r->kind == CW_KIND_VALUES) {
    q->values_bytes -= (size_t)r->num_values * 2 * sizeof(double);
    free(r->u.values);
  }
  series_unref(q, r->s);
  r->s = NULL;
}

/* ------------------------------------------------------------ queue */

void cw_queue_destroy(cw_queue_t *q) {
  if (q == NULL)
    return;
  for (size_t r = 0; r < q->merging_used; r++)
    if (q->recs[r].s != NULL)
      sm_sketch_destroy(q->recs[r].sketch);
  for (size_t i = 0; q->ready != NULL && i < q->ready_num; i++)
    if (ready_at(q, i)->kind == CW_KIND_VALUES)
      free(ready_at(q, i)->u.values);
  for (size_t i = 0; q->series != NULL && i < q->series_cap; i++)
    free(q->series[i]);
  free(q->series);
  free(q->recs);
  free(q->index);
  free(q->ready);
  free(q);
}

cw_queue_t *cw_queue_create(size_t max_datums) {
  cw_queue_t *q;

  if (max_datums == 0 || max_datums > UINT32_MAX / 2)
    return NULL;
  q = calloc(1, sizeof(*q));
  if (q == NULL)
    return NULL;
  q->max_datums = max_datums;
  q->series_cap = 64;
  q->series = calloc(q->series_cap, sizeof(*q->series));
  q->index_cap = 128;
  q->index = calloc(q->index_cap, sizeof(*q->index));
  if (q->series == NULL || q->index == NULL) {
    cw_queue_destroy(q);
    return NULL;
  }
  return q;
}

/* Makes room for one more datum by dropping the oldest that is not
 * being sent. Returns -1 when every datum held is being sent. */
static int drop_oldest(cw_queue_t *q) {
  if (q->ready_num > q->claimed) {
    /* The oldest unclaimed one sits right after the claimed ones: move
     * those up by one over it. */
    ready_free(q, ready_at(q, q->claimed));
    for (size_t i = q->claimed; i > 0; i--)
      *ready_at(q, i) = *ready_at(q, i - 1);
    q->ready_head = (q->ready_head + 1) % q->ready_cap;
    q->ready_num--;
  } else {
    size_t oldest = q->merging_used;
    for (size_t r = 0; r < q->merging_used; r++)
      if (q->recs[r].s != NULL && (oldest == q->merging_used ||
                                   q->recs[r].order < q->recs[oldest].order))
        oldest = r;
    if (oldest == q->merging_used)
      return -1;
    merging_drop(q, oldest);
  }
  q->dropped++;
  return 0;
}

/* Merges a value's sketch (or its absence) into its period's. */
static void merge_sketch(merging_t *m, const sm_sketch_t *sketch) {
  if (sketch != NULL)
    m->had_sketch = true;
  if (m->no_sketch)
    return;
  if (sketch == NULL || sm_sketch_merge(m->sketch, sketch) != 0) {
    sm_sketch_destroy(m->sketch);
    m->sketch = NULL;
    m->no_sketch = true;
  }
}

cw_queue_result_t cw_queue_add(cw_queue_t *q, const cw_datum_t *d) {
  return cw_queue_add_sketch(q, d, NULL);
}

cw_queue_result_t cw_queue_add_sketch(cw_queue_t *q, const cw_datum_t *d,
                                      const sm_sketch_t *sketch) {
  if (d->metric_name == NULL || d->num_dims > CW_MAX_DIMENSIONS ||
      (d->num_dims > 0 && d->dims == NULL))
    return CW_QUEUE_INVALID;
  return cw_queue_add_hashed(q, d, cw_queue_series_hash(d), sketch);
}

cw_queue_result_t cw_queue_add_hashed(cw_queue_t *q, const cw_datum_t *d,
                                      uint64_t series_hash,
                                      const sm_sketch_t *sketch) {
  double period;
  series_t *s;
  merging_t *m;
  size_t slot;
  int r;

  if (d->kind != CW_KIND_STATS || !(d->stats.sample_count > 0) ||
      d->storage_resolution <= 0 || !(fabs(d->timestamp) < 9e15) ||
      d->metric_name == NULL || d->num_dims > CW_MAX_DIMENSIONS ||
      (d->num_dims > 0 && d->dims == NULL))
    return CW_QUEUE_INVALID;
  period = floor(d->timestamp / d->storage_resolution) * d->storage_resolution;
  s = series_get(q, d, series_hash);
  if (s == NULL)
    return CW_QUEUE_NOMEM;
  /* Nearly every value merges into its series' latest period. */
  if (s->latest >= 0 && q->recs[s->latest].period == period) {
    m = &q->recs[s->latest];
    cw_datum_statset_merge(&m->stats, &d->stats);
    merge_sketch(m, sketch);
    return CW_QUEUE_MERGED;
  }
  slot = index_slot(q, s, period);
  if (q->index[slot] != 0) {
    m = &q->recs[q->index[slot] - 1];
    cw_datum_statset_merge(&m->stats, &d->stats);
    merge_sketch(m, sketch);
    s->latest = (int32_t)(q->index[slot] - 1);
    return CW_QUEUE_MERGED;
  }

  /* A new datum; s stays referenced by what holds it (or goes below). */
  s->refs++;
  if (q->merging + q->ready_num >= q->max_datums && drop_oldest(q) != 0) {
    series_unref(q, s);
    q->dropped++;
    return CW_QUEUE_FULL;
  }
  r = merging_new(q);
  if (r < 0) {
    series_unref(q, s);
    return CW_QUEUE_NOMEM;
  }
  m = &q->recs[r];
  *m = (merging_t){.s = s,
                   .period = period,
                   .stats = d->stats,
                   .order = q->order++,
                   .no_sketch = sketch == NULL,
                   .had_sketch = sketch != NULL};
  if (sketch != NULL) {
    m->sketch = sm_sketch_clone(sketch);
    m->no_sketch = m->sketch == NULL;
  }
  q->index[index_slot(q, s, period)] = (uint32_t)r + 1;
  s->latest = r;
  q->merging++;
  return CW_QUEUE_NEW;
}

/* Whether a period's sketch describes exactly the samples of its
 * statistic set. */
static bool sketch_matches(const sm_sketch_t *k, const cw_statset_t *s) {
  const sm_stat_t *st = sm_sketch_stat(k);
  double sum = st->sum;
  if (!sm_sketch_ok(k) || (double)st->count != s->sample_count ||
      st->min != s->minimum || st->max != s->maximum)
    return false;
  if (sm_sketch_integral(k))
    return sum == s->sum;
  return fabs(sum - s->sum) <= 1e-9 * fmax(fabs(sum), fabs(s->sum));
}

/* Appends r; the caller made room (ready_reserve). */
static void ready_push(cw_queue_t *q, const ready_t *r) {
  *ready_at(q, q->ready_num) = *r;
  q->ready_num++;
}

/* Turns merging record m into ready datums: Values/Counts datums from its
 * sketch when it has a usable one and they fit in room, else its
 * statistic set. The ring has room for this record's datum and the left
 * ones still merging. Its series' reference goes to the first datum; each
 * further one takes one more. Returns the datums made ready. */
static size_t seal_one(cw_queue_t *q, merging_t *m, size_t room, size_t left) {
  size_t k, chunks, cap;
  double *values = NULL, *counts = NULL;
  double **blocks = NULL;

  if (m->sketch == NULL || !sketch_matches(m->sketch, &m->stats))
    goto stats;
  cap = sm_sketch_values_max(m->sketch);
  values = malloc(cap * sizeof(*values));
  counts = malloc(cap * sizeof(*counts));
  if (values == NULL || counts == NULL)
    goto stats;
  k = sm_sketch_values(m->sketch, values, counts, cap);
  chunks = (k + CW_MAX_VALUES - 1) / CW_MAX_VALUES;
  if (k == 0 || chunks > room ||
      ready_reserve(q, q->ready_num + chunks + left) != 0)
    goto stats;
  blocks = calloc(chunks, sizeof(*blocks));
  if (blocks == NULL)
    goto stats;
  for (size_t i = 0; i < chunks; i++) {
    size_t off = i * CW_MAX_VALUES;
    size_t n = k - off < CW_MAX_VALUES ? k - off : CW_MAX_VALUES;
    blocks[i] = malloc(2 * n * sizeof(double));
    if (blocks[i] == NULL) {
      for (size_t j = 0; j < i; j++)
        free(blocks[j]);
      goto stats;
    }
    memcpy(blocks[i], values + off, n * sizeof(double));
    memcpy(blocks[i] + n, counts + off, n * sizeof(double));
  }
  for (size_t i = 0; i < chunks; i++) {
    size_t off = i * CW_MAX_VALUES;
    size_t n = k - off < CW_MAX_VALUES ? k - off : CW_MAX_VALUES;
    ready_t r = {.s = m->s,
                 .period = m->period,
                 .kind = CW_KIND_VALUES,
                 .num_values = (uint32_t)n};
    r.u.values = blocks[i];
    if (i > 0)
      m->s->refs++;
    q->values_bytes += 2 * n * sizeof(double);
    ready_push(q, &r);
  }
  free(blocks);
  free(values);
  free(counts);
  return chunks;

stats:
  free(values);
  free(counts);
  if (m->had_sketch)
    q->fallbacks++;
  {
    ready_t r = {.s = m->s, .period = m->period, .kind = CW_KIND_STATS};
    r.u.stats = m->stats;
    ready_push(q, &r);
  }
  return 1;
}

/* Records are taken in array order, which is arrival order: a new
 * record always goes at the end, and none is reused before the seal. */
size_t cw_queue_seal(cw_queue_t *q) {
  size_t n = 0, left = q->merging;

  if (q->merging == 0)
    return 0;
  /* Room for one datum each, or they wait for the next seal. */
  if (ready_reserve(q, q->ready_num + q->merging) != 0)
    return 0;
  /* Each merging datum holds a place in max_datums; the ones not sealed
   * yet keep theirs while this one may take the rest. */
  for (size_t r = 0; r < q->merging_used; r++) {
    merging_t *m = &q->recs[r];
    if (m->s == NULL)
      continue;
    left--;
    n += seal_one(q, m, q->max_datums - q->ready_num - left, left);
    sm_sketch_destroy(m->sketch);
    m->sketch = NULL;
    m->s->latest = -1;
    m->s = NULL;
  }
  q->merging = 0;
  q->merging_used = 0;
  q->order = 0;
  /* Every record is free again: the memory of a burst is given back, by
   * shrinking rather than freeing. Freeing a block glibc had mapped on its
   * own raises its mmap threshold (to as much as 32 MiB) for the whole
   * process, after which every allocation below that size comes from the
   * arenas of the threads that make it, and their free memory stays
   * resident; shrinking one returns its pages (mremap) and leaves the
   * threshold as it was. */
  if (q->merging_cap > MERGING_KEEP) {
    merging_t *m = realloc(q->recs, MERGING_KEEP * sizeof(*m));
    if (m != NULL) {
      q->recs = m;
      q->merging_cap = MERGING_KEEP;
    }
  }
  if (q->index_cap <= 2 * MERGING_KEEP || index_build(q, 2 * MERGING_KEEP) != 0)
    memset(q->index, 0, q->index_cap * sizeof(*q->index));
  return n;
}

const cw_datum_t *cw_queue_ready_get(cw_queue_t *q, size_t i) {
  const ready_t *r;
  cw_datum_t *v = &q->view;

  if (i >= q->ready_num)
    return NULL;
  r = ready_at(q, i);
  cw_datum_init(v);
  v->metric_name = r->s->name;
  v->dims = r->s->num_dims > 0 ? r->s->dims : NULL;
  v->num_dims = r->s->num_dims;
  v->timestamp = r->period;
  v->unit = r->s->unit;
  v->storage_resolution = r->s->storage_resolution;
  v->kind = r->kind;
  if (r->kind == CW_KIND_STATS) {
    v->stats = r->u.stats;
  } else {
    v->values = r->u.values;
    v->counts = r->u.values + r->num_values;
    v->num_values = r->num_values;
  }
  return v;
}

size_t cw_queue_claim(cw_queue_t *q, size_t n) {
  q->claimed = n < q->ready_num ? n : q->ready_num;
  return q->claimed;
}

void cw_queue_release(cw_queue_t *q, int done) {
  if (done) {
    for (size_t i = 0; i < q->claimed; i++) {
      ready_free(q, ready_at(q, 0));
      q->ready_head = (q->ready_head + 1) % q->ready_cap;
      q->ready_num--;
    }
    ready_shrink(q);
  }
  q->claimed = 0;
}

size_t cw_queue_ready_num(const cw_queue_t *q) { return q->ready_num; }
size_t cw_queue_merging_num(const cw_queue_t *q) { return q->merging; }

size_t cw_queue_size(const cw_queue_t *q) { return q->merging + q->ready_num; }

uint64_t cw_queue_dropped(const cw_queue_t *q) { return q->dropped; }

uint64_t cw_queue_sketch_fallbacks(const cw_queue_t *q) { return q->fallbacks; }

size_t cw_queue_memory(const cw_queue_t *q) {
  size_t sketches = 0;
  for (size_t r = 0; r < q->merging_used; r++)
    if (q->recs[r].s != NULL && q->recs[r].sketch != NULL)
      sketches += sm_sketch_memory(q->recs[r].sketch);
  return sizeof(*q) + q->series_cap * sizeof(*q->series) + q->series_bytes +
         q->merging_cap * sizeof(*q->recs) + q->index_cap * sizeof(*q->index) +
         sketches + q->ready_cap * sizeof(*q->ready) + q->values_bytes;
}
