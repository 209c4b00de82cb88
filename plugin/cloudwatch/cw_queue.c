/* SPDX-License-Identifier: MIT */
/*
 * cw_queue: merge-per-period, bounded datum queue (see cw_queue.h).
 *
 * Merging datums live in an array with an index by key (open addressing);
 * ready datums in a ring, oldest first.
 */
#include "cw_queue.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  char *key; /* series and period; NULL: free slot */
  uint64_t hash;
  cw_datum_t *d;       /* owned */
  uint64_t order;      /* arrival of its first value: oldest is dropped first */
  sm_sketch_t *sketch; /* owned; NULL when none */
  bool no_sketch;      /* a value of the period came without one */
  bool had_sketch;     /* a value of the period came with one */
} merging_t;

struct cw_queue_s {
  size_t max_datums;

  merging_t *slots; /* hash table of merging datums */
  size_t cap;       /* power of two */
  size_t merging;

  cw_datum_t **ready; /* ring of max_datums */
  size_t ready_head;
  size_t ready_num;
  size_t claimed; /* ready datums at the front being sent */

  uint64_t order;
  uint64_t dropped;
  uint64_t fallbacks;
};

static uint64_t fnv1a(const char *s, size_t len) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ull;
  }
  return h;
}

cw_queue_t *cw_queue_create(size_t max_datums) {
  cw_queue_t *q;

  if (max_datums == 0)
    return NULL;
  q = calloc(1, sizeof(*q));
  if (q == NULL)
    return NULL;
  q->max_datums = max_datums;
  q->cap = 64;
  q->slots = calloc(q->cap, sizeof(*q->slots));
  q->ready = calloc(max_datums, sizeof(*q->ready));
  if (q->slots == NULL || q->ready == NULL) {
    cw_queue_destroy(q);
    return NULL;
  }
  return q;
}

void cw_queue_destroy(cw_queue_t *q) {
  if (q == NULL)
    return;
  if (q->slots != NULL)
    for (size_t i = 0; i < q->cap; i++) {
      free(q->slots[i].key);
      cw_datum_free(q->slots[i].d);
      sm_sketch_destroy(q->slots[i].sketch);
    }
  if (q->ready != NULL)
    for (size_t i = 0; i < q->ready_num; i++)
      cw_datum_free(q->ready[(q->ready_head + i) % q->max_datums]);
  free(q->slots);
  free(q->ready);
  free(q);
}

static char *put_str(char *p, const char *s) {
  size_t n = strlen(s);
  memcpy(p, s, n);
  return p + n;
}

static char *put_int(char *p, int64_t v) {
  char tmp[24];
  size_t n = 0;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  if (v < 0)
    *p++ = '-';
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u > 0);
  while (n > 0)
    *p++ = tmp[--n];
  return p;
}

/* The bytes make_key needs for a datum. */
static size_t key_size(const cw_datum_t *d) {
  size_t len = strlen(d->metric_name) + 3 * 24 + 8;
  for (size_t i = 0; i < d->num_dims; i++)
    len += strlen(d->dims[i].name) + strlen(d->dims[i].value) + 2;
  return len;
}

/* The series and period of a datum as one string, into buf (key_size
 * bytes): fields separated by bytes that cannot occur in valid names
 * (control characters). Built by hand: this runs for every value. */
static void make_key(const cw_datum_t *d, double period, char *buf) {
  char *p = put_str(buf, d->metric_name);
  *p++ = '\x1f';
  p = put_int(p, (int64_t)d->unit);
  *p++ = '\x1f';
  p = put_int(p, (int64_t)d->storage_resolution);
  *p++ = '\x1f';
  p = put_int(p, (int64_t)period);
  for (size_t i = 0; i < d->num_dims; i++) {
    *p++ = '\x1f';
    p = put_str(p, d->dims[i].name);
    *p++ = '\x1e';
    p = put_str(p, d->dims[i].value);
  }
  *p = 0;
}

static merging_t *find(merging_t *slots, size_t cap, const char *key,
                       uint64_t h) {
  size_t i = (size_t)h & (cap - 1);
  while (slots[i].key != NULL) {
    if (slots[i].hash == h && strcmp(slots[i].key, key) == 0)
      return &slots[i];
    i = (i + 1) & (cap - 1);
  }
  return &slots[i];
}

static int rehash(cw_queue_t *q, size_t cap) {
  merging_t *slots = calloc(cap, sizeof(*slots));
  if (slots == NULL)
    return -1;
  for (size_t i = 0; i < q->cap; i++)
    if (q->slots[i].key != NULL)
      *find(slots, cap, q->slots[i].key, q->slots[i].hash) = q->slots[i];
  free(q->slots);
  q->slots = slots;
  q->cap = cap;
  return 0;
}

static void ready_push(cw_queue_t *q, cw_datum_t *d) {
  q->ready[(q->ready_head + q->ready_num) % q->max_datums] = d;
  q->ready_num++;
}

/* Makes room for one more datum by dropping the oldest that is not
 * being sent. Returns -1 when every datum held is being sent. */
static int drop_oldest(cw_queue_t *q) {
  if (q->ready_num > q->claimed) {
    /* The oldest unclaimed one sits right after the claimed ones: move
     * those up by one over it. */
    size_t at = (q->ready_head + q->claimed) % q->max_datums;
    cw_datum_free(q->ready[at]);
    for (size_t i = q->claimed; i > 0; i--)
      q->ready[(q->ready_head + i) % q->max_datums] =
          q->ready[(q->ready_head + i - 1) % q->max_datums];
    q->ready_head = (q->ready_head + 1) % q->max_datums;
    q->ready_num--;
  } else {
    merging_t *oldest = NULL;
    for (size_t i = 0; i < q->cap; i++)
      if (q->slots[i].key != NULL &&
          (oldest == NULL || q->slots[i].order < oldest->order))
        oldest = &q->slots[i];
    if (oldest == NULL)
      return -1;
    free(oldest->key);
    cw_datum_free(oldest->d);
    sm_sketch_destroy(oldest->sketch);
    *oldest = (merging_t){0};
    q->merging--;
    /* Keep probe chains whole (same size: cannot need more memory than
     * it frees, but may fail; then lookups may miss and start a second
     * datum for a series, which is still correct). */
    rehash(q, q->cap);
  }
  q->dropped++;
  return 0;
}

/* Merges a value's sketch (or its absence) into its period's. */
static void merge_sketch(merging_t *slot, const sm_sketch_t *sketch) {
  if (slot->no_sketch)
    return;
  if (sketch == NULL || sm_sketch_merge(slot->sketch, sketch) != 0) {
    sm_sketch_destroy(slot->sketch);
    slot->sketch = NULL;
    slot->no_sketch = true;
  }
}

cw_queue_result_t cw_queue_add(cw_queue_t *q, const cw_datum_t *d) {
  return cw_queue_add_sketch(q, d, NULL);
}

cw_queue_result_t cw_queue_add_sketch(cw_queue_t *q, const cw_datum_t *d,
                                      const sm_sketch_t *sketch) {
  cw_datum_t copy;
  double period;
  char stack_key[512], *key;
  size_t ksize;
  uint64_t h;
  merging_t *slot;

  if (d->kind != CW_KIND_STATS || !(d->stats.sample_count > 0) ||
      d->storage_resolution <= 0 || !(fabs(d->timestamp) < 9e15))
    return CW_QUEUE_INVALID;
  period = floor(d->timestamp / d->storage_resolution) * d->storage_resolution;
  /* The key of a value that merges (nearly every value) lives on the
   * stack; only a new datum's is kept. */
  ksize = key_size(d);
  key = ksize <= sizeof(stack_key) ? stack_key : malloc(ksize);
  if (key == NULL)
    return CW_QUEUE_NOMEM;
  make_key(d, period, key);
  h = fnv1a(key, strlen(key));
  slot = find(q->slots, q->cap, key, h);
  if (slot->key != NULL) {
    cw_datum_statset_merge(&slot->d->stats, &d->stats);
    merge_sketch(slot, sketch);
    slot->had_sketch = slot->had_sketch || sketch != NULL;
    if (key != stack_key)
      free(key);
    return CW_QUEUE_MERGED;
  }
  if (key == stack_key) {
    key = strdup(stack_key);
    if (key == NULL)
      return CW_QUEUE_NOMEM;
  }

  if (q->merging + q->ready_num >= q->max_datums && drop_oldest(q) != 0) {
    free(key);
    q->dropped++;
    return CW_QUEUE_FULL;
  }
  if ((q->merging + 1) * 4 > q->cap * 3) {
    if (rehash(q, q->cap * 2) != 0) {
      free(key);
      return CW_QUEUE_NOMEM;
    }
  }
  copy = *d;
  copy.timestamp = period;
  slot = find(q->slots, q->cap, key, h);
  slot->d = cw_datum_dup(&copy);
  if (slot->d == NULL) {
    free(key);
    return CW_QUEUE_NOMEM;
  }
  slot->key = key;
  slot->hash = h;
  slot->order = q->order++;
  slot->sketch = NULL;
  slot->no_sketch = sketch == NULL;
  slot->had_sketch = sketch != NULL;
  if (sketch != NULL) {
    slot->sketch = sm_sketch_clone(sketch);
    slot->no_sketch = slot->sketch == NULL;
  }
  q->merging++;
  return CW_QUEUE_NEW;
}

/* Whether a period's sketch describes exactly the samples of its
 * statistic set. */
static bool sketch_matches(const sm_sketch_t *k, const cw_statset_t *s) {
  double sum = sm_sketch_sum(k);
  if (!sm_sketch_ok(k) || (double)sm_sketch_count(k) != s->sample_count ||
      sm_sketch_min(k) != s->minimum || sm_sketch_max(k) != s->maximum)
    return false;
  if (sm_sketch_integral(k))
    return sum == s->sum;
  return fabs(sum - s->sum) <= 1e-9 * fmax(fabs(sum), fabs(s->sum));
}

/* Turns a merging datum into ready ones: Values/Counts datums from its
 * sketch when it has a usable one and they fit in room, else its
 * statistic set. Takes ownership of m's datum and sketch. Returns the
 * datums made ready. */
static size_t seal_one(cw_queue_t *q, merging_t *m, size_t room) {
  size_t made = 0, cap, k, chunks;
  double *values = NULL, *counts = NULL;
  cw_datum_t **out = NULL;

  if (m->sketch == NULL || !sketch_matches(m->sketch, &m->d->stats))
    goto stats;
  cap = sm_sketch_values_max(m->sketch);
  values = malloc(cap * sizeof(*values));
  counts = malloc(cap * sizeof(*counts));
  if (values == NULL || counts == NULL)
    goto stats;
  k = sm_sketch_values(m->sketch, values, counts, cap);
  chunks = (k + CW_MAX_VALUES - 1) / CW_MAX_VALUES;
  if (k == 0 || chunks > room)
    goto stats;
  out = calloc(chunks, sizeof(*out));
  if (out == NULL)
    goto stats;
  for (size_t i = 0; i < chunks; i++) {
    cw_datum_t c = *m->d;
    size_t off = i * CW_MAX_VALUES;
    c.kind = CW_KIND_VALUES;
    c.values = values + off;
    c.counts = counts + off;
    c.num_values = k - off < CW_MAX_VALUES ? k - off : CW_MAX_VALUES;
    out[i] = cw_datum_dup(&c);
    if (out[i] == NULL) {
      for (size_t j = 0; j < i; j++)
        cw_datum_free(out[j]);
      goto stats;
    }
  }
  for (size_t i = 0; i < chunks; i++)
    ready_push(q, out[i]);
  cw_datum_free(m->d);
  made = chunks;
  goto done;

stats:
  if (m->had_sketch)
    q->fallbacks++;
  ready_push(q, m->d);
  made = 1;
done:
  m->d = NULL;
  sm_sketch_destroy(m->sketch);
  m->sketch = NULL;
  free(out);
  free(values);
  free(counts);
  return made;
}

static int by_order(const void *a, const void *b) {
  const merging_t *x = a, *y = b;
  return x->order < y->order ? -1 : x->order > y->order;
}

size_t cw_queue_seal(cw_queue_t *q) {
  size_t n = 0;
  merging_t *list;

  if (q->merging == 0)
    return 0;
  list = malloc(q->merging * sizeof(*list));
  if (list == NULL) {
    /* Seal in table order rather than not at all. */
    for (size_t i = 0; i < q->cap; i++)
      if (q->slots[i].key != NULL) {
        q->merging--;
        n += seal_one(q, &q->slots[i],
                      q->max_datums - q->ready_num - q->merging);
        free(q->slots[i].key);
        q->slots[i] = (merging_t){0};
      }
    q->merging = 0;
    return n;
  }
  size_t num = 0;
  for (size_t i = 0; i < q->cap; i++)
    if (q->slots[i].key != NULL) {
      list[num++] = q->slots[i];
      q->slots[i] = (merging_t){0};
    }
  qsort(list, num, sizeof(*list), by_order);
  /* Each merging datum holds a place in max_datums; the ones not sealed
   * yet keep theirs while this one may take the rest. */
  for (size_t i = 0; i < num; i++) {
    size_t later = num - i - 1;
    n += seal_one(q, &list[i], q->max_datums - q->ready_num - later);
    free(list[i].key);
  }
  free(list);
  q->merging = 0;
  return n;
}

const cw_datum_t *cw_queue_ready_get(const cw_queue_t *q, size_t i) {
  if (i >= q->ready_num)
    return NULL;
  return q->ready[(q->ready_head + i) % q->max_datums];
}

size_t cw_queue_claim(cw_queue_t *q, size_t n) {
  q->claimed = n < q->ready_num ? n : q->ready_num;
  return q->claimed;
}

void cw_queue_release(cw_queue_t *q, int done) {
  if (done) {
    for (size_t i = 0; i < q->claimed; i++) {
      cw_datum_free(q->ready[q->ready_head]);
      q->ready_head = (q->ready_head + 1) % q->max_datums;
    }
    q->ready_num -= q->claimed;
  }
  q->claimed = 0;
}

size_t cw_queue_ready_num(const cw_queue_t *q) { return q->ready_num; }
size_t cw_queue_merging_num(const cw_queue_t *q) { return q->merging; }
size_t cw_queue_size(const cw_queue_t *q) { return q->merging + q->ready_num; }
uint64_t cw_queue_dropped(const cw_queue_t *q) { return q->dropped; }
uint64_t cw_queue_sketch_fallbacks(const cw_queue_t *q) { return q->fallbacks; }
