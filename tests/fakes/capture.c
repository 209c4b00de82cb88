/* SPDX-License-Identifier: MIT */
/*
 * capture: a collectd write and notification plugin used by the
 * integration tests. It appends every value list and notification it is
 * handed, with all meta data, as one JSON object per line to the file
 * named by `File`, so a test can compare exactly what collectd dispatched
 * with the simulator's ledger. Not installed.
 *
 *   <Plugin capture>
 *     File "/tmp/out.jsonl"
 *   </Plugin>
 */
#include "sm_collectd.h"

#include <math.h>
#include <pthread.h>
#include <yajl/yajl_gen.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *out;

#define STR(g, s) yajl_gen_string(g, (const unsigned char *)(s), strlen(s))

static void gen_double(yajl_gen g, double d) {
  if (isnan(d) || isinf(d))
    yajl_gen_null(g);
  else
    yajl_gen_double(g, d);
}

static void gen_time(yajl_gen g, cdtime_t t) {
  gen_double(g, CDTIME_T_TO_DOUBLE(t));
}

static void gen_value_meta(yajl_gen g, meta_data_t *md) {
  char **keys = NULL;
  int n = md ? meta_data_toc(md, &keys) : 0;

  yajl_gen_map_open(g);
  for (int i = 0; i < n; i++) {
    STR(g, keys[i]);
    switch (meta_data_type(md, keys[i])) {
    case MD_TYPE_STRING: {
      char *v = NULL;
      meta_data_get_string(md, keys[i], &v);
      STR(g, v ? v : "");
      free(v);
      break;
    }
    case MD_TYPE_SIGNED_INT: {
      int64_t v = 0;
      meta_data_get_signed_int(md, keys[i], &v);
      yajl_gen_integer(g, v);
      break;
    }
    case MD_TYPE_UNSIGNED_INT: {
      uint64_t v = 0;
      meta_data_get_unsigned_int(md, keys[i], &v);
      yajl_gen_double(g, (double)v);
      break;
    }
    case MD_TYPE_DOUBLE: {
      double v = 0;
      meta_data_get_double(md, keys[i], &v);
      gen_double(g, v);
      break;
    }
    case MD_TYPE_BOOLEAN: {
      bool v = false;
      meta_data_get_boolean(md, keys[i], &v);
      yajl_gen_bool(g, v);
      break;
    }
    default:
      yajl_gen_null(g);
    }
    free(keys[i]);
  }
  free(keys);
  yajl_gen_map_close(g);
}

/* A line's object, opened: its kind, time and identifier (the five
 * names a value list and a notification both have). NULL when out of
 * memory. */
static yajl_gen gen_open(const char *kind, cdtime_t time, const char *host,
                         const char *plugin, const char *plugin_instance,
                         const char *type, const char *type_instance) {
  const char *const names[][2] = {{"host", host},
                                  {"plugin", plugin},
                                  {"plugin_instance", plugin_instance},
                                  {"type", type},
                                  {"type_instance", type_instance}};
  yajl_gen g = yajl_gen_alloc(NULL);

  if (g == NULL)
    return NULL;
  yajl_gen_map_open(g);
  STR(g, "kind");
  STR(g, kind);
  STR(g, "time");
  gen_time(g, time);
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    STR(g, names[i][0]);
    STR(g, names[i][1]);
  }
  return g;
}

/* gen_open for a value_list_t or a notification_t x. */
#define GEN_OPEN(kind, x)                                                      \
  gen_open((kind), (x)->time, (x)->host, (x)->plugin, (x)->plugin_instance,    \
           (x)->type, (x)->type_instance)

/* Closes the line's object, appends it to the file and frees g. */
static int gen_close(yajl_gen g) {
  const unsigned char *buf;
  size_t len;

  yajl_gen_map_close(g);
  yajl_gen_get_buf(g, &buf, &len);
  pthread_mutex_lock(&lock);
  if (out != NULL) {
    fwrite(buf, 1, len, out);
    fputc('\n', out);
    fflush(out);
  }
  pthread_mutex_unlock(&lock);
  yajl_gen_free(g);
  return 0;
}

static int capture_write(const data_set_t *ds, const value_list_t *vl,
                         user_data_t *ud) {
  yajl_gen g = GEN_OPEN("value", vl);
  (void)ud;
  if (g == NULL)
    return ENOMEM;
  STR(g, "interval");
  gen_time(g, vl->interval);
  STR(g, "dsnames");
  yajl_gen_array_open(g);
  for (size_t i = 0; i < ds->ds_num; i++)
    STR(g, ds->ds[i].name);
  yajl_gen_array_close(g);
  STR(g, "values");
  yajl_gen_array_open(g);
  for (size_t i = 0; i < vl->values_len && i < ds->ds_num; i++) {
    if (ds->ds[i].type == DS_TYPE_GAUGE)
      gen_double(g, vl->values[i].gauge);
    else if (ds->ds[i].type == DS_TYPE_DERIVE)
      yajl_gen_integer(g, vl->values[i].derive);
    else
      yajl_gen_double(g, (double)vl->values[i].counter);
  }
  yajl_gen_array_close(g);
  STR(g, "meta");
  gen_value_meta(g, vl->meta);
  return gen_close(g);
}

static int capture_notification(const notification_t *n, user_data_t *ud) {
  yajl_gen g = GEN_OPEN("notification", n);
  (void)ud;
  if (g == NULL)
    return ENOMEM;
  STR(g, "severity");
  yajl_gen_integer(g, n->severity);
  STR(g, "message");
  STR(g, n->message);
  STR(g, "meta");
  yajl_gen_map_open(g);
  for (notification_meta_t *m = n->meta; m != NULL; m = m->next) {
    STR(g, m->name);
    switch (m->type) {
    case NM_TYPE_STRING:
      STR(g, m->nm_value.nm_string);
      break;
    case NM_TYPE_SIGNED_INT:
      yajl_gen_integer(g, m->nm_value.nm_signed_int);
      break;
    case NM_TYPE_UNSIGNED_INT:
      yajl_gen_double(g, (double)m->nm_value.nm_unsigned_int);
      break;
    case NM_TYPE_DOUBLE:
      gen_double(g, m->nm_value.nm_double);
      break;
    case NM_TYPE_BOOLEAN:
      yajl_gen_bool(g, m->nm_value.nm_boolean);
      break;
    }
  }
  yajl_gen_map_close(g);
  return gen_close(g);
}

static int capture_config(oconfig_item_t *ci) {
  for (int i = 0; i < ci->children_num; i++) {
    oconfig_item_t *child = ci->children + i;
    char *file = NULL;
    if (strcasecmp("File", child->key) != 0 ||
        cf_util_get_string(child, &file) != 0) {
      ERROR("capture plugin: expected File \"path\", got %s", child->key);
      return -1;
    }
    pthread_mutex_lock(&lock);
    if (out != NULL)
      fclose(out);
    out = fopen(file, "a");
    pthread_mutex_unlock(&lock);
    if (out == NULL) {
      ERROR("capture plugin: cannot open %s: %s", file, STRERRNO);
      free(file);
      return -1;
    }
    free(file);
  }
  return 0;
}

static int capture_shutdown(void) {
  pthread_mutex_lock(&lock);
  if (out != NULL)
    fclose(out);
  out = NULL;
  pthread_mutex_unlock(&lock);
  return 0;
}

void module_register(void) {
  plugin_register_complex_config("capture", capture_config);
  plugin_register_write("capture", capture_write, NULL);
  plugin_register_notification("capture", capture_notification, NULL);
  plugin_register_shutdown("capture", capture_shutdown);
}
