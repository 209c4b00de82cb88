/* SPDX-License-Identifier: MIT */
/*
 * aws_creds: the credential chain and its cache (see aws_creds.h).
 */
#include "aws_creds.h"
#include "aws_creds_provider.h"
#include "aws_text.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for any message of the chain. */
#define MSG_MAX 1024

/*
 * Credentials and the configuration
 */

void aws_creds_clear(aws_creds_t *c) {
  if (c == NULL)
    return;
  aws_text_free_secret(c->access_key_id);
  aws_text_free_secret(c->secret_access_key);
  aws_text_free_secret(c->session_token);
  memset(c, 0, sizeof(*c));
}

int aws_creds_set(aws_creds_t *out, const char *id, const char *secret,
                  const char *token, time_t expiration) {
  aws_creds_clear(out);
  out->access_key_id = strdup(id);
  out->secret_access_key = strdup(secret);
  if (token != NULL && token[0] != '\0')
    out->session_token = strdup(token);
  out->expiration = expiration;
  if (out->access_key_id == NULL || out->secret_access_key == NULL ||
      (token != NULL && token[0] != '\0' && out->session_token == NULL)) {
    aws_creds_clear(out);
    return -1;
  }
  return 0;
}

static int copy(aws_creds_t *dst, const aws_creds_t *src) {
  if (aws_creds_set(dst, src->access_key_id, src->secret_access_key,
                    src->session_token, src->expiration) != 0)
    return -1;
  memcpy(dst->provider, src->provider, sizeof(dst->provider));
  dst->generation = src->generation;
  return 0;
}

const char *aws_creds_process_getenv(void *ud, const char *name) {
  (void)ud;
  return getenv(name);
}

time_t aws_creds_system_clock(void *ud) {
  (void)ud;
  return time(NULL);
}

const char *aws_creds_getenv(const aws_creds_config_t *c, const char *name) {
  const char *v = c->getenv_fn(c->getenv_ud, name);
  return (v != NULL && v[0] != '\0') ? v : NULL;
}

void aws_creds_config_defaults(const aws_creds_config_t *in,
                               aws_creds_config_t *out) {
  *out = *in;
  if (out->imds_url == NULL || out->imds_url[0] == '\0')
    out->imds_url = AWS_CREDS_DEFAULT_IMDS_URL;
  if (out->container_url == NULL || out->container_url[0] == '\0')
    out->container_url = AWS_CREDS_DEFAULT_CONTAINER_URL;
  if (out->home_dir != NULL && out->home_dir[0] == '\0')
    out->home_dir = NULL;
  if (out->profile != NULL && out->profile[0] == '\0')
    out->profile = NULL;
  if (out->timeout_ms <= 0)
    out->timeout_ms = AWS_CREDS_DEFAULT_TIMEOUT_MS;
  if (out->refresh_window_s == 0)
    out->refresh_window_s = AWS_CREDS_DEFAULT_REFRESH_WINDOW_S;
  else if (out->refresh_window_s < 0)
    out->refresh_window_s = 0;
}

/*
 * The chain and its cache
 */

/* Runs the chain once. AWS_CREDS_OK with out filled, or AWS_CREDS_FAILED
 * with msg. */
static aws_creds_status_t run_chain(const aws_creds_config_t *c,
                                    aws_creds_t *out, char *msg, size_t size) {
  static aws_creds_fetch_fn *const chain[] = {
      aws_creds_env_fetch, aws_creds_file_fetch, aws_creds_container_fetch,
      aws_creds_imds_fetch};
  char notes[MSG_MAX] = "", one[MSG_MAX];
  size_t used = 0;

  for (size_t i = 0; i < sizeof(chain) / sizeof(chain[0]); i++) {
    aws_creds_source_t rc;
    one[0] = '\0';
    rc = chain[i](c, out, one, sizeof(one));
    if (rc == AWS_CREDS_FOUND) {
      snprintf(msg, size, "%s", "");
      return AWS_CREDS_OK;
    }
    aws_creds_clear(out);
    if (rc == AWS_CREDS_ERROR && i + 1 < sizeof(chain) / sizeof(chain[0])) {
      snprintf(msg, size, "%s", one);
      return AWS_CREDS_FAILED;
    }
    if (used < sizeof(notes)) {
      int n = snprintf(notes + used, sizeof(notes) - used, "%s%s",
                       used > 0 ? "; " : "", one);
      used += n > 0 ? (size_t)n : 0;
    }
  }
  snprintf(msg, size, "no credentials found: %s", notes);
  return AWS_CREDS_FAILED;
}

struct aws_creds_provider_s {
  aws_creds_config_t cfg; /* normalized; strings point to the copies below */
  char *imds_url;
  char *container_url;
  char *home_dir;
  char *profile;
  pthread_mutex_t lock;
  pthread_cond_t refreshed;
  bool refreshing;
  uint64_t refreshes;  /* completed refreshes */
  uint64_t generation; /* of the last credentials cached */
  aws_creds_t cached;  /* access_key_id NULL when none */
  bool forced;         /* aws_creds_invalidate() asked for a refresh */
  bool attempted;
  time_t last_attempt;
  char last_error[MSG_MAX]; /* of the last refresh; "" when it worked */
  unsigned failed_streak;   /* failed refreshes since the last success */
  bool streak_reported;     /* last_error handed out once in this streak */
  unsigned recovered_after; /* > 0: the next hand-out says RECOVERED */
};

static int dup_opt(const char *s, char **copy) {
  *copy = NULL;
  if (s == NULL)
    return 0;
  *copy = strdup(s);
  return *copy != NULL ? 0 : -1;
}

/* Frees p with its copies of the configuration's strings, and its lock
 * and condition when they were made. */
static void provider_free(aws_creds_provider_t *p, bool lock, bool cond) {
  if (cond)
    pthread_cond_destroy(&p->refreshed);
  if (lock)
    pthread_mutex_destroy(&p->lock);
  free(p->imds_url);
  free(p->container_url);
  free(p->home_dir);
  free(p->profile);
  free(p);
}

aws_creds_provider_t *aws_creds_provider_create(const aws_creds_config_t *cfg) {
  aws_creds_provider_t *p = NULL;
  aws_creds_config_t n;
  bool ok, have_lock = false, have_cond = false;

  if (cfg == NULL || cfg->getenv_fn == NULL || cfg->clock_fn == NULL)
    return NULL;
  aws_creds_config_defaults(cfg, &n);
  p = calloc(1, sizeof(*p));
  ok = p != NULL && dup_opt(n.imds_url, &p->imds_url) == 0 &&
       dup_opt(n.container_url, &p->container_url) == 0 &&
       dup_opt(n.home_dir, &p->home_dir) == 0 &&
       dup_opt(n.profile, &p->profile) == 0;
  if (ok)
    ok = have_lock = pthread_mutex_init(&p->lock, NULL) == 0;
  if (ok)
    ok = have_cond = pthread_cond_init(&p->refreshed, NULL) == 0;
  if (ok) {
    p->cfg = n;
    p->cfg.imds_url = p->imds_url;
    p->cfg.container_url = p->container_url;
    p->cfg.home_dir = p->home_dir;
    p->cfg.profile = p->profile;
  } else if (p != NULL) {
    provider_free(p, have_lock, have_cond);
    p = NULL;
  }
  return p;
}

void aws_creds_provider_destroy(aws_creds_provider_t *p) {
  if (p == NULL)
    return;
  aws_creds_clear(&p->cached);
  provider_free(p, true, true);
}

/* Under the lock: are the cached credentials usable at now? Drops expired
 * ones. */
static bool cache_valid(aws_creds_provider_t *p, time_t now) {
  if (p->cached.access_key_id == NULL)
    return false;
  if (p->cached.expiration != 0 && now >= p->cached.expiration) {
    aws_creds_clear(&p->cached);
    return false;
  }
  return true;
}

/* Under the lock: hands out a copy of the cache, or says why there is
 * none. A failed refresh's reason is said once per streak, a recovery
 * once. */
static aws_creds_status_t hand_out(aws_creds_provider_t *p, aws_creds_t *out,
                                   char *err, size_t size) {
  if (!cache_valid(p, p->cfg.clock_fn(p->cfg.clock_ud))) {
    snprintf(err, size, "%s",
             p->last_error[0] != '\0' ? p->last_error
                                      : "no valid credentials (they expired)");
    return AWS_CREDS_FAILED;
  }
  if (copy(out, &p->cached) != 0) {
    snprintf(err, size, "out of memory");
    return AWS_CREDS_FAILED;
  }
  if (p->last_error[0] != '\0') {
    if (!p->streak_reported)
      snprintf(err, size, "%s", p->last_error);
    p->streak_reported = true;
    return AWS_CREDS_KEPT;
  }
  if (p->recovered_after > 0) {
    snprintf(err, size,
             "refreshing the credentials works again (from %s), after %u "
             "failed refresh%s",
             p->cached.provider, p->recovered_after,
             p->recovered_after == 1 ? "" : "es");
    p->recovered_after = 0;
    return AWS_CREDS_RECOVERED;
  }
  return AWS_CREDS_OK;
}

/* Under the lock: does the cache need a refresh now? */
static bool refresh_due(aws_creds_provider_t *p, time_t now) {
  bool valid = cache_valid(p, now);
  bool in_window;

  if (!valid || p->forced)
    return true;
  /* The last refresh failed: try again now and then, window or not. */
  if (p->last_error[0] != '\0' &&
      now - p->last_attempt >= AWS_CREDS_RETRY_INTERVAL_S)
    return true;
  in_window = p->cached.expiration != 0 &&
              now >= p->cached.expiration - (time_t)p->cfg.refresh_window_s;
  if (!in_window)
    return false;
  /* Valid but inside the window: not again right after an attempt. */
  return !p->attempted || now - p->last_attempt >= AWS_CREDS_RETRY_INTERVAL_S;
}

/* Under the lock, which it drops during the chain's I/O. */
static void refresh(aws_creds_provider_t *p) {
  aws_creds_t fresh = {0};
  char msg[MSG_MAX];
  aws_creds_status_t st;
  time_t now;

  p->refreshing = true;
  p->forced = false;
  pthread_mutex_unlock(&p->lock);
  st = run_chain(&p->cfg, &fresh, msg, sizeof(msg));
  pthread_mutex_lock(&p->lock);

  now = p->cfg.clock_fn(p->cfg.clock_ud);
  p->refreshing = false;
  p->refreshes++;
  p->attempted = true;
  p->last_attempt = now;
  if (st == AWS_CREDS_OK) {
    aws_creds_clear(&p->cached);
    p->cached = fresh; /* takes the strings */
    p->cached.generation = ++p->generation;
    p->last_error[0] = '\0';
    if (p->failed_streak > 0)
      p->recovered_after = p->failed_streak;
    p->failed_streak = 0;
    p->streak_reported = false;
  } else if (cache_valid(p, now)) {
    char until[32] = "never";
    if (p->cached.expiration != 0)
      aws_text_time(p->cached.expiration, until, sizeof(until));
    sm_text_printf(
        p->last_error, sizeof(p->last_error),
        "refresh failed, still using the credentials from %s (expire: %s): "
        "%s",
        p->cached.provider, until, msg);
  } else {
    snprintf(p->last_error, sizeof(p->last_error), "%s", msg);
  }
  if (st != AWS_CREDS_OK) {
    p->failed_streak++;
    p->recovered_after = 0;
  }
  pthread_cond_broadcast(&p->refreshed);
}

aws_creds_status_t aws_creds_get(aws_creds_provider_t *p, aws_creds_t *out,
                                 char *err, size_t err_size) {
  aws_creds_status_t st;

  memset(out, 0, sizeof(*out));
  if (err != NULL && err_size > 0)
    err[0] = '\0';
  pthread_mutex_lock(&p->lock);
  if (refresh_due(p, p->cfg.clock_fn(p->cfg.clock_ud))) {
    if (!p->refreshing) {
      refresh(p);
    } else if (!cache_valid(p, p->cfg.clock_fn(p->cfg.clock_ud))) {
      /* Someone else is refreshing and there is nothing to use meanwhile:
       * wait for that refresh and share its outcome. */
      uint64_t seen = p->refreshes;
      while (p->refreshing && p->refreshes == seen)
        pthread_cond_wait(&p->refreshed, &p->lock);
    }
  }
  st = hand_out(p, out, err, err_size);
  pthread_mutex_unlock(&p->lock);
  return st;
}

void aws_creds_invalidate(aws_creds_provider_t *p,
                          const aws_creds_t *rejected) {
  pthread_mutex_lock(&p->lock);
  if (p->cached.access_key_id != NULL && !p->refreshing &&
      (rejected == NULL || rejected->generation == p->cached.generation))
    p->forced = true;
  pthread_mutex_unlock(&p->lock);
}
