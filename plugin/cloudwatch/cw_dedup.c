/* SPDX-License-Identifier: MIT */
/*
 * cw_dedup: seen (series, time) pairs (see cw_dedup.h).
 *
 * An open-addressing index of 16-byte slots (the identifier's hash and
 * its entry), small enough to stay in the CPU's caches with tens of
 * thousands of series; each entry holds the identifier and a small ring
 * of recent times. Nearly every value comes after the latest of its
 * series: that one comparison settles it, the ring is searched only for
 * a value that does not.
 */
#include "cw_dedup.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sm_hash.h"

typedef struct {
  uint64_t last_seen; /* now, at its last value */
  uint64_t latest;    /* the latest time taken */
  uint64_t times[CW_DEDUP_WINDOW];
  unsigned n;    /* times held */
  unsigned next; /* ring position */
  size_t len;    /* of id */
  char id[];     /* NUL-terminated */
} entry_t;

typedef struct {
  uint64_t hash;
  entry_t *e; /* NULL: empty slot */
} slot_t;

struct cw_dedup_s {
  slot_t *slots;
  size_t cap; /* power of two */
  size_t used;
};

void cw_dedup_destroy(cw_dedup_t *d) {
  if (d == NULL)
    return;
  for (size_t i = 0; i < d->cap; i++)
    free(d->slots[i].e);
  free(d->slots);
  free(d);
}

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

/* The slot of id (hash h, length len), or the empty slot where it would
 * go. */
static slot_t *find(slot_t *slots, size_t cap, const char *id, size_t len,
                    uint64_t h) {
  size_t i = (size_t)h & (cap - 1);
  while (slots[i].e != NULL) {
    const entry_t *e = slots[i].e;
    if (slots[i].hash == h && e->len == len && memcmp(e->id, id, len) == 0)
      return &slots[i];
    i = (i + 1) & (cap - 1);
  }
  return &slots[i];
}

/* Re-inserts every entry of old (cap slots) into a fresh table of cap
 * slots; -1 when out of memory (nothing changed). */
static int rebuild(cw_dedup_t *d, size_t cap) {
  slot_t *slots = calloc(cap, sizeof(*slots));
  if (slots == NULL)
    return -1;
  for (size_t i = 0; i < d->cap; i++) {
    const slot_t *s = &d->slots[i];
    if (s->e != NULL)
      *find(slots, cap, s->e->id, s->e->len, s->hash) = *s;
  }
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
  size_t len = strlen(id);
  slot_t *s;
  entry_t *e;

  if ((d->used + 1) * 4 > d->cap * 3 && rebuild(d, d->cap * 2) != 0)
    return -1;
  s = find(d->slots, d->cap, id, len, h);
  e = s->e;
  if (e == NULL) {
    e = malloc(sizeof(*e) + len + 1);
    if (e == NULL)
      return -1;
    e->n = e->next = 0;
    e->len = len;
    memcpy(e->id, id, len + 1);
    s->hash = h;
    s->e = e;
    d->used++;
  } else if (!(e->n > 0 && time > e->latest)) {
    /* Not after the latest: a repeat when the ring holds it. */
    for (unsigned i = 0; i < e->n; i++)
      if (e->times[i] == time) {
        e->last_seen = now;
        return 0;
      }
  }
  e->last_seen = now;
  if (e->n == 0 || time > e->latest)
    e->latest = time;
  e->times[e->next] = time;
  e->next = (e->next + 1) % CW_DEDUP_WINDOW;
  if (e->n < CW_DEDUP_WINDOW)
    e->n++;
  return 1;
}

void cw_dedup_expire(cw_dedup_t *d, uint64_t now, uint64_t max_age) {
  bool removed = false;

  for (size_t i = 0; i < d->cap; i++) {
    entry_t *e = d->slots[i].e;
    if (e != NULL && e->last_seen + max_age < now) {
      free(e);
      d->slots[i].e = NULL;
      d->used--;
      removed = true;
    }
  }
  /* Removing from open addressing breaks probe chains: re-insert all.
   * Without the memory for that, the table keeps its gaps: a lookup may
   * then miss a series and take one repeat, which is better than
   * failing. */
  if (removed)
    rebuild(d, d->cap);
}

size_t cw_dedup_series(const cw_dedup_t *d) { return d->used; }
