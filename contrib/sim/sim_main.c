/* SPDX-License-Identifier: MIT */
/*
 * sim_main: sagemaker-runtime-sim's main, life cycle and event loop (sim.h
 * lists the parts).
 *
 * The simulator is a stand-in for the Amazon SageMaker async-inference
 * runtime's stats API, version 1 (shared/reference/runtime-api.md is the
 * contract). It serves GET /v1/snapshot and GET /v1/requests over HTTP/1.1
 * on a Unix stream socket, generates a seeded synthetic workload that
 * follows the wall clock, and writes a JSON-lines ledger of everything it
 * generated and served so that tests can hold a client's output against
 * ground truth. It is also the benchmark load, so the hot path (generate,
 * format, page) allocates nothing per record.
 *
 * One process, one thread, non-blocking sockets driven by ppoll(2); libc,
 * libm and the project's byte buffer (plugin/common/sm_buf.c). Each turn of
 * the loop waits in ppoll (the only place signals are delivered), restarts
 * the runtime when due, generates the records due, then serves.
 *
 * Determinism: record contents (values, outcomes, inference IDs) come from a
 * PRNG stream of their own and a queue model that runs in virtual time (one
 * step per generated record), so the same seed and options give the same
 * records in the same order however the wall clock and the clients behave.
 * Boot IDs and response framing use separate streams for the same reason.
 */
#define _GNU_SOURCE /* ppoll */

#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- Limits ------------------------------------------------------------ */

#define SIM_BODY_MAX ((size_t)64 * 1024 * 1024)
#define SIM_POLL_BUSY_MS 10 /* while generating: completions spread in time */
#define SIM_POLL_IDLE_MS 100

/* ---- Signals ----------------------------------------------------------- */

/* Process-wide by nature: signal handlers can reach nothing else. */
static volatile sig_atomic_t sig_stop;
static volatile sig_atomic_t sig_restart;

/* ---- Boot, pidfile, signals -------------------------------------------- */

static void sim_boot(struct sim *s, uint64_t now_us) {
  struct sim_ring *r = &s->ring;
  uint8_t id[16];

  if (s->booted) {
    if (r->count > 0)
      sim_ledger_evict(s, r->first_seq, r->next_seq - 1);
    sim_ledger_evict_flush(s); /* under the old boot_id */
    /* A real restart drops its clients; drop the idle ones, so that nothing
     * already answered (and in the ledger) is lost. */
    sim_server_drop_idle(s);
  }
  sim_ring_reset(r);
  sim_rng_uuid(&s->boot_rng, id);
  sim_text_uuid(id, s->boot_id);
  s->boot_us = now_us;
  sim_ledger_boot(s);
  sim_log(s, "%s boot_id %s", s->booted ? "restart:" : "boot:", s->boot_id);
  s->booted = true;
}

static int sim_pidfile(struct sim *s) {
  int fd = open(s->o->pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || dprintf(fd, "%ld\n", (long)getpid()) < 0) {
    sim_err("pidfile %s: %s", s->o->pidfile, strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  s->pid_written = true;
  return close(fd);
}

/* Only while it still names this process: a successor may own it now. */
static void sim_pidfile_remove(const struct sim *s) {
  char want[32], got[32];
  int n = snprintf(want, sizeof(want), "%ld\n", (long)getpid());
  int fd = open(s->o->pidfile, O_RDONLY | O_CLOEXEC);
  ssize_t len;

  if (fd < 0)
    return;
  len = read(fd, got, sizeof(got));
  close(fd);
  if (len == n && memcmp(got, want, (size_t)n) == 0)
    unlink(s->o->pidfile);
}

static void on_signal(int sig) {
  if (sig == SIGUSR1)
    sig_restart = 1;
  else
    sig_stop = 1;
}

/* The signals stay blocked except inside ppoll, so a flag set by a handler
 * is always seen before the next wait. */
static int sim_signals(sigset_t *waitmask) {
  struct sigaction sa;
  sigset_t block;

  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGUSR1);
  if (sigprocmask(SIG_BLOCK, &block, waitmask) != 0 ||
      sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0 ||
      sigaction(SIGUSR1, &sa, NULL) != 0) {
    sim_err("signals: %s", strerror(errno));
    return -1;
  }
  signal(SIGPIPE, SIG_IGN);
  sigdelset(waitmask, SIGTERM);
  sigdelset(waitmask, SIGINT);
  sigdelset(waitmask, SIGUSR1);
  return 0;
}

/* ---- Life cycle -------------------------------------------------------- */

static int sim_init(struct sim *s) {
  const struct sim_opts *o = s->o;
  uint64_t now = sim_mono_us();

  sm_buf_init(&s->body, SIM_BODY_MAX);
  sim_rng_seed(&s->rec_rng, o->seed, SIM_RNG_RECORDS);
  sim_rng_seed(&s->boot_rng, o->seed, SIM_RNG_BOOT);
  sim_rng_seed(&s->frame_rng, o->seed, SIM_RNG_FRAMING);
  if (sim_ring_init(&s->ring, o->ring) != 0 || sim_ledger_open(s, now) != 0)
    return -1;
  if (sim_server_listen(s) != 0 || (o->pidfile != NULL && sim_pidfile(s) != 0))
    return -1;
  sim_workload_start(s, now);
  sim_boot(s, now);
  sim_log(s, "listening on %s (rate %g/s, seed %" PRIu64 ")", o->socket_path,
          o->rate, o->seed);
  if (o->burst)
    sim_log(s, "burst: arrivals %g times capacity from %gs for %gs%s",
            o->burst_load, o->burst_at_s, o->burst_len_s,
            o->burst_every_s > 0.0 ? ", repeating" : "");
  return s->fatal ? -1 : 0;
}

/* Safe on a partly initialised sim. */
static void sim_fini(struct sim *s, bool clean) {
  sim_server_close(s);
  if (s->pid_written)
    sim_pidfile_remove(s);
  sim_ledger_close(s, clean);
  if (s->booted)
    sim_log(s,
            "exit: %" PRIu64 " requests generated, %" PRIu64 " pages, %" PRIu64
            " snapshots, %" PRIu64 " error responses",
            s->wl.gen_count, s->n_pages, s->n_snapshots, s->n_errors);
  sim_ring_free(&s->ring);
  sm_buf_free(&s->body);
}

static int sim_poll_timeout(const struct sim *s, uint64_t now_us) {
  return sim_ledger_timeout_ms(
      s, now_us, s->wl.stopped ? SIM_POLL_IDLE_MS : SIM_POLL_BUSY_MS);
}

static void sim_loop(struct sim *s, const sigset_t *waitmask) {
  struct sim_server_poll p;
  const uint64_t restart_us = (uint64_t)(s->o->restart_every_s * 1e6);

  while (!s->fatal && !sig_stop) {
    uint64_t now = sim_mono_us();
    int ms = sim_poll_timeout(s, now);
    struct timespec ts = {.tv_sec = ms / 1000,
                          .tv_nsec = (long)(ms % 1000) * 1000000};

    sim_server_poll_set(s, &p);
    int rc = ppoll(p.fds, p.n, &ts, waitmask);
    if (rc < 0 && errno != EINTR) {
      sim_err("ppoll: %s", strerror(errno));
      s->fatal = true;
      break;
    }
    if (sig_stop)
      break;
    now = sim_mono_us();
    if (sig_restart || (restart_us > 0 && now - s->boot_us >= restart_us)) {
      sig_restart = 0;
      sim_boot(s, now);
    }
    /* Due records first, so that every answer this turn is current; their
     * evictions then get one ledger line, ahead of the pages. */
    sim_workload_turn(s, now);
    sim_ledger_evict_flush(s);
    if (rc > 0)
      sim_server_poll_done(s, &p, now);
    sim_server_turn(s, now);
    sim_ledger_tick(s, now);
  }
}

int main(int argc, char **argv) {
  struct sim_opts o;
  struct sim *s = NULL;
  sigset_t waitmask;
  int rc = sim_opts_parse(argc, argv, &o);

  if (rc >= 0)
    return rc;
  rc = 1;
  s = calloc(1, sizeof(*s));
  if (s == NULL) {
    sim_err("out of memory");
    return rc;
  }
  s->o = &o;
  s->srv.listen_fd = -1;
  s->ledger.fd = -1;
  if (sim_signals(&waitmask) == 0 && sim_init(s) == 0) {
    sim_loop(s, &waitmask);
    if (!s->fatal)
      rc = 0;
  }
  sim_fini(s, rc == 0);
  free(s);
  return rc;
}
