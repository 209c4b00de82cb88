/* SPDX-License-Identifier: MIT */
/*
 * cw_dedup: seen (series, time) pairs (see cw_dedup.h).
 *
 * An open-addressing hash table of series keyed by identifier (sm_hash),
 * each with a small ring of recent times.
 */
#include "cw_dedup.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sm_hash.h"

typedef struct {
  char *id; /* NULL: empty slot */
  uint64_t hash;
  uint64_t last_seen;
  uint64_t times[CW_DEDUP_WINDOW];
  unsigned n;    /* times held */
  unsigned next; /* ring position */
} series_t;

struct cw_dedup_s {
  series_t *slots;
  size_t cap; /* power of two */
  size_t used;
};

cw_dedup_t *cw_dedup_create(void) {
  cw_dedup_t *d = calloc(1, sizeof(*d));
  if (d == NULL)
    return NULL;
  d->cap = 64;
  d->slots = calloc(d->cap, sizeof(*d->slots));
  if (d->slots == NULL) {
    free(d);
    return NULL;
  }
  return d;
}

void cw_dedup_destroy(cw_dedup_t *d) {
  if (d == NULL)
    return;
  for (size_t i = 0; i < d->cap; i++)
    free(d->slots[i].id);
  free(d->slots);
  free(d);
}

static series_t *find(series_t *slots, size_t cap, const char *id, uint64_t h) {
  size_t i = (size_t)h & (cap - 1);
  while (slots[i].id != NULL) {
    if (slots[i].hash == h && strcmp(slots[i].id, id) == 0)
      return &slots[i];
    i = (i + 1) & (cap - 1);
  }
  return &slots[i]; /* the empty slot where it would go */
}

static int grow(cw_dedup_t *d) {
  size_t cap = d->cap * 2;
  series_t *slots = calloc(cap, sizeof(*slots));
  if (slots == NULL)
    return -1;
  for (size_t i = 0; i < d->cap; i++)
    if (d->slots[i].id != NULL)
      *find(slots, cap, d->slots[i].id, d->slots[i].hash) = d->slots[i];
  free(d->slots);
  d->slots = slots;
  d->cap = cap;
  return 0;
}

uint64_t cw_dedup_hash(const char *id) { return sm_hash_str(0, id); }

int cw_dedup_check(cw_dedup_t *d, const char *id, uint64_t time, uint64_t now) {
  return cw_dedup_check_hashed(d, id, cw_dedup_hash(id), time, now);
}

int cw_dedup_check_hashed(cw_dedup_t *d, const char *id, uint64_t h,
                          uint64_t time, uint64_t now) {
  series_t *s;

  if ((d->used + 1) * 4 > d->cap * 3 && grow(d) != 0)
    return -1;
  s = find(d->slots, d->cap, id, h);
  if (s->id == NULL) {
    s->id = strdup(id);
    if (s->id == NULL)
      return -1;
    s->hash = h;
    s->n = 0;
    s->next = 0;
    d->used++;
  }
  s->last_seen = now;
  for (unsigned i = 0; i < s->n; i++)
    if (s->times[i] == time)
      return 0;
  s->times[s->next] = time;
  s->next = (s->next + 1) % CW_DEDUP_WINDOW;
  if (s->n < CW_DEDUP_WINDOW)
    s->n++;
  return 1;
}

void cw_dedup_expire(cw_dedup_t *d, uint64_t now, uint64_t max_age) {
  bool removed = false;

  for (size_t i = 0; i < d->cap; i++) {
    if (d->slots[i].id != NULL && d->slots[i].last_seen + max_age < now) {
      free(d->slots[i].id);
      d->slots[i].id = NULL;
      d->used--;
      removed = true;
    }
  }
  if (!removed)
    return;
  /* Removing from open addressing breaks probe chains: re-insert all. */
  {
    series_t *old = d->slots;
    series_t *slots = calloc(d->cap, sizeof(*slots));
    if (slots == NULL) {
      /* Keep the table with its gaps: a lookup may then miss a series
       * and take one repeat, which is better than failing. */
      return;
    }
    for (size_t i = 0; i < d->cap; i++)
      if (old[i].id != NULL)
        *find(slots, d->cap, old[i].id, old[i].hash) = old[i];
    free(old);
    d->slots = slots;
  }
}

size_t cw_dedup_series(const cw_dedup_t *d) { return d->used; }
