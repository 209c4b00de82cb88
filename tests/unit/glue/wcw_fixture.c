/* SPDX-License-Identifier: MIT */
/*
 * wcw_fixture: see wcw_fixture.h.
 */
#include "wcw_fixture.h"

#include <stdio.h>
#include <stdlib.h>

#include "aws_offline.h"
#include "cw_logs.h"
#include "tap_note.h"

#define SOURCE_MAX (4u << 20) /* README.md is about 60 KiB */

static int blocks; /* configured so far, refused ones too */
/* The blocks alive (registered), for fx_free_blocks. */
static wcw_t *alive[64];
static size_t alive_num;

char *fx_source(const char *relpath) {
  const char *srcdir = getenv("SM_SRCDIR");
  char path[4096];
  char *text = NULL;
  size_t len = 0;
  FILE *f;

  snprintf(path, sizeof(path), "%s/%s", srcdir != NULL ? srcdir : ".", relpath);
  f = fopen(path, "r");
  if (f != NULL) {
    text = malloc(SOURCE_MAX + 1);
    if (text != NULL)
      len = fread(text, 1, SOURCE_MAX, f);
    if (text != NULL && (ferror(f) || len == SOURCE_MAX)) {
      free(text);
      text = NULL;
    }
    fclose(f);
  }
  if (text == NULL) {
    T_NOTE("cannot read %s (set SM_SRCDIR to the source tree)", path);
    return NULL;
  }
  text[len] = 0;
  return text;
}

int fx_init(const char *extra_types) {
  static const char *const unset[] = {"AWS_ENDPOINT_URL",
                                      "AWS_ENDPOINT_URL_CLOUDWATCH",
                                      "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
                                      "AWS_USE_FIPS_ENDPOINT",
                                      "AWS_USE_DUALSTACK_ENDPOINT",
                                      "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"};
  char *types = fx_source("contrib/types.db");

  /* Credentials from the environment, a region, nothing to ask
   * (aws_offline.h) and the default endpoints. */
  aws_offline();
  setenv("AWS_REGION", "eu-west-1", 1);
  setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
         1);
  for (size_t i = 0; i < sizeof(unset) / sizeof(unset[0]); i++)
    unsetenv(unset[i]);

  if (types == NULL || stub_types_read(types) <= 0 ||
      (extra_types != NULL && stub_types_read(extra_types) <= 0)) {
    T_NOTE("types.db lines not read");
    free(types);
    return -1;
  }
  free(types);
  module_register();
  return 0;
}

wcw_t *fx_block(const char *options, int *status) {
  char text[8192];
  char name[64];
  oconfig_item_t *root;
  wcw_t *w;
  int rc;

  snprintf(text, sizeof(text), "<Plugin write_cloudwatch>\n%s\n</Plugin>\n",
           options);
  root = stub_config_read(text);
  if (root == NULL || root->children_num != 1) {
    T_NOTE("the stand-in cannot read this block:\n%s", text);
    stub_config_free(root);
    if (status != NULL)
      *status = -1;
    return NULL;
  }
  rc = stub_config(&root->children[0]);
  stub_config_free(root);
  blocks++;
  if (status != NULL)
    *status = rc;
  if (rc != 0)
    return NULL;
  /* write_cloudwatch.c names a block's callbacks by its instance, the
   * number of blocks configured before it. */
  snprintf(name, sizeof(name), "write_cloudwatch/%d", blocks - 1);
  w = stub_user_data("write", name);
  if (w != NULL && alive_num < sizeof(alive) / sizeof(alive[0]))
    alive[alive_num++] = w;
  return w;
}

int fx_block_number(void) { return blocks; }

/* Empties a block's queues as if everything had been sent, so that its
 * shutdown has nothing to send (events waiting for their stream's name
 * are never sent: they are dropped with a line). */
static void drain(wcw_t *w) {
  cw_logs_batch_t b;
  int64_t now_ms = (int64_t)CDTIME_T_TO_MS(cdtime());

  pthread_mutex_lock(&w->lock);
  cw_queue_seal(w->queue);
  cw_queue_claim(w->queue, cw_queue_ready_num(w->queue));
  cw_queue_release(w->queue, 1);
  if (w->host_queue != NULL) {
    cw_queue_seal(w->host_queue);
    cw_queue_claim(w->host_queue, cw_queue_ready_num(w->host_queue));
    cw_queue_release(w->host_queue, 1);
  }
  while (w->logq != NULL && cw_logs_queue_claim(w->logq, now_ms, &b) > 0)
    cw_logs_queue_release(w->logq, 1);
  pthread_mutex_unlock(&w->lock);
}

void fx_free_blocks(void) {
  for (size_t i = 0; i < alive_num; i++)
    drain(alive[i]);
  alive_num = 0;
  stub_free_registered();
}

const data_set_t *fx_ds(const char *type) {
  const data_set_t *ds = plugin_get_ds(type);
  if (ds == NULL)
    T_NOTE("no type %s", type);
  return ds;
}

meta_data_t *fx_sm_meta(const char *endpoint, const char *variant,
                        const char *sketch) {
  meta_data_t *md = meta_data_create();
  if (endpoint != NULL)
    meta_data_add_string(md, SM_META_ENDPOINT_NAME, endpoint);
  if (variant != NULL)
    meta_data_add_string(md, SM_META_VARIANT_NAME, variant);
  if (sketch != NULL)
    meta_data_add_string(md, SM_META_SKETCH, sketch);
  return md;
}

int fx_write(const char *host, const char *plugin, const char *pi,
             const char *type, const char *ti, const double *v, size_t n,
             cdtime_t t, meta_data_t *md) {
  const data_set_t *ds = fx_ds(type);
  value_t values[8];
  value_list_t vl = VALUE_LIST_INIT;
  int failed;

  if (ds == NULL || ds->ds_num != n || n > 8) {
    T_NOTE("%s: not %zu data sources", type, n);
    meta_data_destroy(md);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    if (ds->ds[i].type == DS_TYPE_GAUGE)
      values[i].gauge = v[i];
    else if (ds->ds[i].type == DS_TYPE_DERIVE)
      values[i].derive = (derive_t)v[i];
    else
      values[i].counter = (counter_t)v[i];
  }
  vl.values = values;
  vl.values_len = n;
  vl.time = t;
  vl.interval = TIME_T_TO_CDTIME_T(10);
  vl.meta = md;
  sstrncpy(vl.host, host, sizeof(vl.host));
  sstrncpy(vl.plugin, plugin, sizeof(vl.plugin));
  sstrncpy(vl.plugin_instance, pi, sizeof(vl.plugin_instance));
  sstrncpy(vl.type, type, sizeof(vl.type));
  sstrncpy(vl.type_instance, ti, sizeof(vl.type_instance));
  failed = stub_write(ds, &vl);
  meta_data_destroy(md);
  return failed;
}

static void add_meta(notification_t *n, const char *key, const char *s) {
  if (s != NULL)
    plugin_notification_meta_add_string(n, key, s);
}

void fx_notify_request(const char *plugin, const char *type,
                       const char *variant, const char *instance,
                       int64_t completed_ms) {
  notification_t n;

  memset(&n, 0, sizeof(n));
  n.severity = NOTIF_FAILURE;
  n.time = MS_TO_CDTIME_T(completed_ms);
  sstrncpy(n.host, "h1", sizeof(n.host));
  sstrncpy(n.plugin, plugin, sizeof(n.plugin));
  sstrncpy(n.plugin_instance, "main", sizeof(n.plugin_instance));
  sstrncpy(n.type, type, sizeof(n.type));
  sstrncpy(n.type_instance, "model_error", sizeof(n.type_instance));
  add_meta(&n, SM_META_INFERENCE_ID, "req-1");
  add_meta(&n, SM_META_ENDPOINT_NAME, EP);
  add_meta(&n, SM_META_VARIANT_NAME, variant);
  add_meta(&n, SM_META_INSTANCE_ID, instance);
  add_meta(&n, SM_META_OUTCOME, "model_error");
  add_meta(&n, SM_META_STAGE, "model");
  plugin_notification_meta_add_signed_int(&n, SM_META_STATUS_CODE, 500);
  add_meta(&n, SM_META_ERROR, "container replied 500");
  add_meta(&n, SM_META_BOOT_ID, "boot-1");
  plugin_notification_meta_add_signed_int(&n, SM_META_SEQ, 1043);
  plugin_notification_meta_add_signed_int(&n, SM_META_RECEIVED_MS,
                                          completed_ms - 2000);
  plugin_notification_meta_add_signed_int(&n, SM_META_COMPLETED_MS,
                                          completed_ms);
  stub_notify(&n);
  plugin_notification_meta_free(n.meta);
}

size_t fx_take(wcw_t *w, cw_queue_t *q, cw_datum_t **out, size_t max) {
  size_t n = 0, ready;

  pthread_mutex_lock(&w->lock);
  cw_queue_seal(q);
  ready = cw_queue_ready_num(q);
  for (size_t i = 0; i < ready && n < max; i++) {
    out[n] = cw_datum_dup(cw_queue_ready_get(q, i));
    if (out[n] != NULL)
      n++;
  }
  cw_queue_claim(q, ready);
  cw_queue_release(q, 1);
  pthread_mutex_unlock(&w->lock);
  return n;
}

void fx_free_datums(cw_datum_t **d, size_t n) {
  for (size_t i = 0; i < n; i++)
    cw_datum_free(d[i]);
}

const char *fx_dim(const cw_datum_t *d, const char *name) {
  for (size_t i = 0; i < d->num_dims; i++)
    if (strcmp(d->dims[i].name, name) == 0)
      return d->dims[i].value;
  return NULL;
}

const char *fx_section(const char *readme, const char *heading, size_t *len) {
  size_t level = strspn(heading, "#");
  const char *start = NULL, *end;

  for (const char *p = readme; p != NULL && *p != 0;) {
    if (strncmp(p, heading, strlen(heading)) == 0 &&
        (p[strlen(heading)] == '\n' || p[strlen(heading)] == 0)) {
      start = p;
      break;
    }
    p = strchr(p, '\n');
    p = p != NULL ? p + 1 : NULL;
  }
  if (start == NULL)
    return NULL;
  /* The next heading of this level or above ends it. */
  end = start + strlen(heading);
  for (;;) {
    const char *nl = strchr(end, '\n');
    size_t hashes;
    if (nl == NULL) {
      end += strlen(end);
      break;
    }
    end = nl + 1;
    hashes = strspn(end, "#");
    if (hashes > 0 && hashes <= level && end[hashes] == ' ')
      break;
  }
  *len = (size_t)(end - start);
  return start;
}

size_t fx_row(const char *line, size_t line_len, char cells[][256],
              size_t max) {
  size_t n = 0;
  const char *p = line, *end = line + line_len;

  if (line_len == 0 || line[0] != '|')
    return 0;
  p++;
  while (p < end && n < max) {
    const char *bar = memchr(p, '|', (size_t)(end - p));
    const char *a = p, *b;
    size_t len;
    if (bar == NULL)
      break;
    b = bar;
    while (a < b && *a == ' ')
      a++;
    while (b > a && b[-1] == ' ')
      b--;
    len = (size_t)(b - a) < 255 ? (size_t)(b - a) : 255;
    memcpy(cells[n], a, len);
    cells[n][len] = 0;
    n++;
    p = bar + 1;
  }
  return n;
}
