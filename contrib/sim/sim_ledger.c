/* SPDX-License-Identifier: MIT */
/*
 * sim_ledger: the JSON-lines record of everything the simulator generated
 * and served, the tests' ground truth: one line per boot, request record,
 * range of evicted records, page and snapshot served, and a last one at a
 * clean exit. A snapshot's line holds the very members that went out, a
 * page's line the range it carried.
 *
 * Lines collect in a buffer and reach the file whole, so a reader tailing
 * the ledger while the simulator runs never sees half a line. The write
 * blocks on purpose: the ledger is ground truth and may not skip. A failed
 * write stops the simulator (s->fatal).
 */
#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define SIM_LEDGER_WRITE_AT ((size_t)1024 * 1024) /* write(2) in big pieces */
#define SIM_LEDGER_BUF_MAX ((size_t)16 * 1024 * 1024)
/* The ledger reaches the file at least this often. */
#define SIM_LEDGER_FLUSH_US 100000

int sim_ledger_open(struct sim *s, uint64_t now_us) {
  struct sim_ledger *l = &s->ledger;
  const char *path = s->o->ledger_path;

  sm_buf_init(&l->buf, SIM_LEDGER_BUF_MAX);
  l->flush_us = now_us;
  if (path == NULL)
    return 0;
  if (strcmp(path, "-") == 0)
    l->fd = STDOUT_FILENO;
  else
    l->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (l->fd < 0) {
    sim_err("ledger %s: %s", path, strerror(errno));
    return -1;
  }
  return 0;
}

static void ledger_write(struct sim *s) {
  sm_buf_t *b = &s->ledger.buf;
  size_t off = 0;

  while (off < b->len) {
    ssize_t n = write(s->ledger.fd, b->p + off, b->len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      sim_err("ledger: write failed: %s", strerror(errno));
      s->fatal = true;
      break;
    }
    off += (size_t)n;
  }
  sm_buf_reset(b);
}

/* Returns false when there is no ledger to write. */
static bool ledger_begin(struct sim *s, const char *event, bool with_boot) {
  sm_buf_t *b = &s->ledger.buf;

  if (s->ledger.fd < 0)
    return false;
  SIM_TEXT_LIT(b, "{\"event\":\"");
  sm_buf_adds(b, event);
  sm_buf_addc(b, '"');
  if (with_boot) {
    SIM_TEXT_LIT(b, ",\"boot_id\":\"");
    sm_buf_adds(b, s->boot_id);
    sm_buf_addc(b, '"');
  }
  return true;
}

static void ledger_end(struct sim *s) {
  sm_buf_t *b = &s->ledger.buf;
  SIM_TEXT_LIT(b, "}\n");
  if (!sm_buf_ok(b)) {
    sim_err("ledger: buffer over %zu bytes", b->max);
    s->fatal = true;
    sm_buf_reset(b);
  } else if (b->len >= SIM_LEDGER_WRITE_AT) {
    ledger_write(s);
  }
}

static void ledger_kv(struct sim *s, const char *key, uint64_t v) {
  sm_buf_addc(&s->ledger.buf, ',');
  sim_text_jstr(&s->ledger.buf, key);
  sm_buf_addc(&s->ledger.buf, ':');
  sim_text_u64(&s->ledger.buf, v);
}

static void ledger_time(struct sim *s) {
  SIM_TEXT_LIT(&s->ledger.buf, ",\"time_ms\":");
  sim_text_i64(&s->ledger.buf, sim_wall_ms());
}

void sim_ledger_close(struct sim *s, bool clean) {
  if (s->ledger.fd >= 0) {
    sim_ledger_evict_flush(s);
    if (clean && ledger_begin(s, "exit", false)) {
      ledger_time(s);
      ledger_end(s);
    }
    ledger_write(s);
    if (s->ledger.fd != STDOUT_FILENO)
      close(s->ledger.fd);
  }
  sm_buf_free(&s->ledger.buf);
}

void sim_ledger_tick(struct sim *s, uint64_t now_us) {
  if (now_us - s->ledger.flush_us < SIM_LEDGER_FLUSH_US)
    return;
  s->ledger.flush_us = now_us;
  if (s->ledger.fd >= 0 && s->ledger.buf.len > 0)
    ledger_write(s);
}

int sim_ledger_timeout_ms(const struct sim *s, uint64_t now_us, int ms) {
  if (s->ledger.buf.len > 0) {
    uint64_t due = s->ledger.flush_us + SIM_LEDGER_FLUSH_US;
    int left = due > now_us ? (int)((due - now_us + 999) / 1000) : 0;
    if (left < ms)
      ms = left;
  }
  return ms;
}

void sim_ledger_boot(struct sim *s) {
  if (!ledger_begin(s, "boot", true))
    return;
  ledger_time(s);
  ledger_kv(s, "seed", s->o->seed);
  ledger_end(s);
}

void sim_ledger_request(struct sim *s, const struct sim_record *r) {
  if (!ledger_begin(s, "request", true))
    return;
  sm_buf_addc(&s->ledger.buf, ',');
  sim_record_put(&s->ledger.buf, r);
  ledger_end(s);
}

void sim_ledger_evict(struct sim *s, uint64_t from, uint64_t to) {
  if (!s->ledger.evict_pending) {
    s->ledger.evict_pending = true;
    s->ledger.evict_from = from;
  }
  s->ledger.evict_to = to;
}

void sim_ledger_evict_flush(struct sim *s) {
  if (!s->ledger.evict_pending)
    return;
  s->ledger.evict_pending = false;
  if (!ledger_begin(s, "evict", true))
    return;
  ledger_kv(s, "from", s->ledger.evict_from);
  ledger_kv(s, "to", s->ledger.evict_to);
  ledger_end(s);
}

void sim_ledger_served(struct sim *s, const char *event) {
  if (!ledger_begin(s, event, false))
    return;
  sm_buf_addc(&s->ledger.buf, ',');
  /* The body is an object: drop its braces, keep its members. */
  sm_buf_add(&s->ledger.buf, s->body.p + 1, s->body.len - 2);
  ledger_end(s);
}

void sim_ledger_page(struct sim *s, uint64_t after, uint64_t limit,
                     uint64_t from, uint64_t to, uint64_t count) {
  if (!ledger_begin(s, "page", true))
    return;
  ledger_kv(s, "after", after);
  ledger_kv(s, "limit", limit);
  ledger_kv(s, "first_seq", s->ring.first_seq);
  ledger_kv(s, "next_seq", s->ring.next_seq);
  ledger_kv(s, "from", from);
  ledger_kv(s, "to", to);
  ledger_kv(s, "count", count);
  ledger_end(s);
}
