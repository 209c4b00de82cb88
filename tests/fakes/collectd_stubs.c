/* SPDX-License-Identifier: MIT */
/*
 * collectd_stubs: the stand-in for the collectd 5.12 daemon that the
 * config fuzzer and the glue's unit tests link (see collectd_stubs.h).
 */
#include "collectd_stubs.h"

#include "collectd/core/daemon/utils_cache.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

char *hostname_g = "stub";
cdtime_t interval_g = TIME_T_TO_CDTIME_T_STATIC(10);

/* Guards everything below that another thread may reach: the mode, the
 * clock, the log, the captures and the rates. Never held while calling
 * out (a callback, plugin_log). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dispatched = PTHREAD_COND_INITIALIZER;
static bool strict;
static cdtime_t fixed_time; /* 0: the real clock */

/* *dst = *src (size bytes) under the lock. */
static void copy_locked(void *dst, const void *src, size_t size) {
  pthread_mutex_lock(&lock);
  memcpy(dst, src, size);
  pthread_mutex_unlock(&lock);
}

static size_t locked_size(const size_t *n) {
  size_t v;
  copy_locked(&v, n, sizeof(v));
  return v;
}

static uint64_t locked_u64(const uint64_t *n) {
  uint64_t v;
  copy_locked(&v, n, sizeof(v));
  return v;
}

void stub_strict(bool on) { copy_locked(&strict, &on, sizeof(on)); }

/* In strict mode, what the configuration path reaches only by a bug: the
 * target's or the plugin's. */
static void strict_reached(const char *what) {
  bool abort_now;

  copy_locked(&abort_now, &strict, sizeof(strict));
  if (abort_now) {
    fprintf(stderr, "collectd_stubs: %s called on the configuration path\n",
            what);
    abort();
  }
}

/* A test's own mistake (a limit of the stand-in it went past). */
static void stub_fail(const char *what) {
  fprintf(stderr, "collectd_stubs: %s\n", what);
  abort();
}

static char *xstrdup(const char *s) {
  char *c = strdup(s);
  if (c == NULL)
    stub_fail("out of memory");
  return c;
}

/* ------------------------------------------------------------ clocks */

void stub_set_interval(cdtime_t interval) {
  copy_locked(&interval_g, &interval, sizeof(interval));
}

cdtime_t plugin_get_interval(void) { return locked_u64(&interval_g); }

void stub_set_time(cdtime_t now) {
  copy_locked(&fixed_time, &now, sizeof(now));
}

cdtime_t cdtime(void) {
  cdtime_t t = locked_u64(&fixed_time);
  struct timespec ts;

  if (t != 0)
    return t;
  clock_gettime(CLOCK_REALTIME, &ts);
  return TIMESPEC_TO_CDTIME_T(&ts);
}

/* ---------------------------------------------------------- registry */

/* Used from the test's thread only (collectd's main thread, and its
 * writer threads one at a time). */

typedef struct {
  const char *kind; /* "config", "init", "read", "write", ... */
  char *name;
  char *group; /* reads only */
  void *callback;
  user_data_t ud;
} reg_t;

#define MAX_REGS 1024
static reg_t regs[MAX_REGS];
static size_t regs_num;

static void reg_destroy(reg_t *r) {
  if (r->ud.free_func != NULL)
    r->ud.free_func(r->ud.data);
  free(r->name);
  free(r->group);
  memset(r, 0, sizeof(*r));
}

/* A registration of that kind (a slot emptied by an unregistration has
 * none until reg_compact). */
static bool reg_is(const reg_t *r, const char *kind) {
  return r->kind != NULL && strcmp(r->kind, kind) == 0;
}

static reg_t *reg_find(const char *kind, const char *name) {
  for (size_t i = 0; i < regs_num; i++)
    if (reg_is(&regs[i], kind) && strcmp(regs[i].name, name) == 0)
      return &regs[i];
  return NULL;
}

static int reg_add(const char *kind, const char *name, const char *group,
                   void *callback, const user_data_t *ud) {
  reg_t *r = &regs[regs_num];

  if (regs_num >= MAX_REGS) {
    fprintf(stderr, "collectd_stubs: more than %d registrations\n", MAX_REGS);
    abort();
  }
  r->kind = kind;
  r->name = strdup(name);
  r->group = group != NULL ? strdup(group) : NULL;
  if (r->name == NULL || (group != NULL && r->group == NULL))
    abort();
  r->callback = callback;
  if (ud != NULL)
    r->ud = *ud;
  regs_num++;
  return 0;
}

/* collectd 5.12's register_callback: a second write, flush or
 * notification callback of the same name replaces the first, whose user
 * data is freed. */
static int reg_replace(const char *kind, const char *name, void *callback,
                       const user_data_t *ud) {
  reg_t *old = reg_find(kind, name);

  if (old != NULL) {
    if (old->ud.free_func != NULL)
      old->ud.free_func(old->ud.data);
    old->callback = callback;
    old->ud = ud != NULL ? *ud : (user_data_t){0};
    return 0;
  }
  return reg_add(kind, name, NULL, callback, ud);
}

static void reg_compact(void) {
  size_t n = 0;
  for (size_t i = 0; i < regs_num; i++)
    if (regs[i].kind != NULL)
      regs[n++] = regs[i];
  for (size_t i = n; i < regs_num; i++)
    memset(&regs[i], 0, sizeof(regs[i]));
  regs_num = n;
}

int stub_config(oconfig_item_t *ci) {
  reg_t *r;

  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING)
    return 0;
  r = reg_find("config", ci->values[0].value.string);
  if (r == NULL)
    return 0;
  return ((int (*)(oconfig_item_t *))r->callback)(ci);
}

int stub_init_all(void) {
  int failed = 0;
  /* An init may unregister reads: index, do not hold pointers. */
  for (size_t i = 0; i < regs_num; i++)
    if (reg_is(&regs[i], "init") && ((plugin_init_cb)regs[i].callback)() != 0)
      failed++;
  reg_compact();
  return failed;
}

int stub_shutdown_all(void) {
  int failed = 0;
  for (size_t i = 0; i < regs_num; i++)
    if (reg_is(&regs[i], "shutdown") &&
        ((int (*)(void))regs[i].callback)() != 0)
      failed++;
  return failed;
}

int stub_write(const data_set_t *ds, const value_list_t *vl) {
  int failed = 0;
  for (size_t i = 0; i < regs_num; i++)
    if (reg_is(&regs[i], "write") &&
        ((plugin_write_cb)regs[i].callback)(ds, vl, &regs[i].ud) != 0)
      failed++;
  return failed;
}

int stub_notify(const notification_t *n) {
  int failed = 0;
  for (size_t i = 0; i < regs_num; i++)
    if (reg_is(&regs[i], "notification") &&
        ((plugin_notification_cb)regs[i].callback)(n, &regs[i].ud) != 0)
      failed++;
  return failed;
}

int stub_flush(void) {
  int failed = 0;
  for (size_t i = 0; i < regs_num; i++)
    if (reg_is(&regs[i], "flush") &&
        ((plugin_flush_cb)regs[i].callback)(0, NULL, &regs[i].ud) != 0)
      failed++;
  return failed;
}

void stub_free_registered(void) {
  for (size_t i = 0; i < regs_num; i++)
    if (regs[i].kind != NULL && !reg_is(&regs[i], "config") &&
        !reg_is(&regs[i], "init") && !reg_is(&regs[i], "shutdown"))
      reg_destroy(&regs[i]);
  reg_compact();
}

size_t stub_registered(const char *kind) {
  size_t n = 0;
  for (size_t i = 0; i < regs_num; i++)
    if (reg_is(&regs[i], kind))
      n++;
  return n;
}

void *stub_user_data(const char *kind, const char *name) {
  reg_t *r = reg_find(kind, name);
  return r != NULL ? r->ud.data : NULL;
}

/* ------------------------------------------------------ registration */

int plugin_register_complex_config(const char *type,
                                   int (*callback)(oconfig_item_t *)) {
  return reg_add("config", type, NULL, (void *)callback, NULL);
}

int plugin_register_init(const char *name, plugin_init_cb callback) {
  return reg_add("init", name, NULL, (void *)callback, NULL);
}

int plugin_register_shutdown(const char *name, int (*callback)(void)) {
  return reg_add("shutdown", name, NULL, (void *)callback, NULL);
}

/* As collectd 5.12: a read of a name already registered is refused with
 * EINVAL, and then (plugin.h) the user data is the caller's to free. */
int plugin_register_complex_read(const char *group, const char *name,
                                 plugin_read_cb callback, cdtime_t interval,
                                 user_data_t const *user_data) {
  (void)interval;
  /* collectd 5.12 frees the user data of a read it refuses (plugin.c),
   * whatever plugin.h's comment says. */
  if (reg_find("read", name) != NULL) {
    if (user_data != NULL && user_data->free_func != NULL)
      user_data->free_func(user_data->data);
    return EINVAL;
  }
  return reg_add("read", name, group, (void *)callback, user_data);
}

int plugin_unregister_read_group(const char *group) {
  int found = 0;
  for (size_t i = 0; i < regs_num; i++)
    if (reg_is(&regs[i], "read") && strcmp(regs[i].group, group) == 0) {
      reg_destroy(&regs[i]);
      found++;
    }
  return found > 0 ? 0 : ENOENT;
}

int plugin_register_write(const char *name, plugin_write_cb callback,
                          user_data_t const *user_data) {
  return reg_replace("write", name, (void *)callback, user_data);
}

int plugin_register_flush(const char *name, plugin_flush_cb callback,
                          user_data_t const *user_data) {
  return reg_replace("flush", name, (void *)callback, user_data);
}

int plugin_register_notification(const char *name,
                                 plugin_notification_cb callback,
                                 user_data_t const *user_data) {
  return reg_replace("notification", name, (void *)callback, user_data);
}

/* ------------------------------------------------------------- types */

static data_set_t types[STUB_TYPES_MAX];
static size_t types_num;

void stub_types_clear(void) {
  for (size_t i = 0; i < types_num; i++)
    free(types[i].ds);
  types_num = 0;
}

/* A data source "name:TYPE:min:max" (the text up to end) into ds. */
static int type_ds(const char *p, const char *end, data_source_t *ds) {
  static const struct {
    const char *name;
    int type;
  } kinds[] = {{"GAUGE", DS_TYPE_GAUGE},
               {"DERIVE", DS_TYPE_DERIVE},
               {"COUNTER", DS_TYPE_COUNTER},
               {"ABSOLUTE", DS_TYPE_ABSOLUTE}};
  const char *field[4];
  size_t len[4];
  int n = 0;

  for (const char *f = p; n < 4 && f <= end; n++) {
    const char *colon = memchr(f, ':', (size_t)(end - f));
    field[n] = f;
    len[n] = (size_t)((colon != NULL ? colon : end) - f);
    f = colon != NULL ? colon + 1 : end + 1;
  }
  if (n != 4 || len[0] == 0 || len[0] >= sizeof(ds->name))
    return -1;
  memcpy(ds->name, field[0], len[0]);
  ds->name[len[0]] = 0;
  ds->type = -1;
  for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
    if (strlen(kinds[k].name) == len[1] &&
        strncmp(kinds[k].name, field[1], len[1]) == 0)
      ds->type = kinds[k].type;
  ds->min = field[2][0] == 'U' ? NAN : strtod(field[2], NULL);
  ds->max = field[3][0] == 'U' ? NAN : strtod(field[3], NULL);
  return ds->type >= 0 ? 0 : -1;
}

/* One line "type ds, ds, ..." into set; 0, or -1 when malformed. */
static int type_line(const char *line, data_set_t *set) {
  const char *p = line;
  size_t n = strcspn(p, " \t");

  if (n == 0 || n >= sizeof(set->type))
    return -1;
  memcpy(set->type, p, n);
  set->type[n] = 0;
  set->ds_num = 0;
  set->ds = calloc(STUB_TYPES_MAX_DS, sizeof(*set->ds));
  if (set->ds == NULL)
    stub_fail("out of memory");
  for (p += n;;) {
    const char *end;
    p += strspn(p, " \t,");
    if (*p == 0)
      break;
    end = p + strcspn(p, " \t,");
    if (set->ds_num == STUB_TYPES_MAX_DS ||
        type_ds(p, end, &set->ds[set->ds_num]) != 0) {
      free(set->ds);
      return -1;
    }
    set->ds_num++;
    p = end;
  }
  if (set->ds_num == 0) {
    free(set->ds);
    return -1;
  }
  return 0;
}

int stub_types_read(const char *text) {
  int added = 0;

  for (const char *p = text; *p != 0;) {
    size_t len = strcspn(p, "\n");
    char line[1024];

    if (len >= sizeof(line))
      return -1;
    memcpy(line, p, len);
    line[len] = 0;
    p += len + (p[len] == '\n');
    if (line[strspn(line, " \t")] == 0 || line[0] == '#')
      continue;
    if (types_num == STUB_TYPES_MAX || type_line(line, &types[types_num]) != 0)
      return -1;
    types_num++;
    added++;
  }
  return added;
}

/* The types read (stub_types_read); without any, every type is unknown,
 * and the plugins register their own. */
const data_set_t *plugin_get_ds(const char *name) {
  for (size_t i = 0; i < types_num; i++)
    if (strcmp(types[i].type, name) == 0)
      return &types[i];
  return NULL;
}

/* Checked, not kept: every init registers again, as the fuzzer wants. */
int plugin_register_data_set(const data_set_t *ds) {
  if (ds->ds_num == 0 || ds->ds == NULL)
    return -1;
  return 0;
}

/* write_cloudwatch's sender threads are real threads, as collectd's: its
 * init (or its first write) starts one per block, and its shutdown, or
 * the free of its block, stops it. */
int plugin_thread_create(pthread_t *thread, void *(*start_routine)(void *),
                         void *arg, char const *name) {
  (void)name;
  return pthread_create(thread, NULL, start_routine, arg);
}

/* ----------------------------------------------------------- the log */

typedef struct {
  int level;
  char text[STUB_LOG_LINE_MAX];
} log_line_t;

static log_line_t log_lines[STUB_LOG_MAX];
static size_t log_num;
static uint64_t log_dropped;

static void log_add(int level, const char *text) {
  if (getenv("SM_STUB_LOG") != NULL)
    fprintf(stderr, "log %d: %s\n", level, text);
  pthread_mutex_lock(&lock);
  if (log_num < STUB_LOG_MAX) {
    log_lines[log_num].level = level;
    snprintf(log_lines[log_num].text, sizeof(log_lines[log_num].text), "%s",
             text);
    log_num++;
  } else {
    log_dropped++;
  }
  pthread_mutex_unlock(&lock);
}

/* Formatted as collectd's plugin_log formats (its arguments must be
 * valid), then kept. */
void plugin_log(int level, const char *format, ...) {
  char msg[STUB_LOG_LINE_MAX];
  va_list ap;

  va_start(ap, format);
  vsnprintf(msg, sizeof(msg), format, ap);
  va_end(ap);
  log_add(level, msg);
}

size_t stub_log_count(void) { return locked_size(&log_num); }

/* A line is never changed once kept, until the clear: its text may be
 * read without the lock. */
const char *stub_log_line(size_t i, int *level) {
  const char *text = NULL;

  pthread_mutex_lock(&lock);
  if (i < log_num) {
    text = log_lines[i].text;
    if (level != NULL)
      *level = log_lines[i].level;
  }
  pthread_mutex_unlock(&lock);
  return text;
}

const char *stub_log_find(int level, const char *text) {
  const char *found = NULL;

  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < log_num && found == NULL; i++)
    if ((level < 0 || log_lines[i].level == level) &&
        strstr(log_lines[i].text, text) != NULL)
      found = log_lines[i].text;
  pthread_mutex_unlock(&lock);
  return found;
}

size_t stub_log_matches(int level, const char *text) {
  size_t n = 0;

  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < log_num; i++)
    if ((level < 0 || log_lines[i].level == level) &&
        strstr(log_lines[i].text, text) != NULL)
      n++;
  pthread_mutex_unlock(&lock);
  return n;
}

uint64_t stub_log_dropped(void) { return locked_u64(&log_dropped); }

void stub_log_clear(void) {
  pthread_mutex_lock(&lock);
  log_num = 0;
  log_dropped = 0;
  pthread_mutex_unlock(&lock);
}

/* collectd 5.12's rate limit: a complaint is logged when its interval
 * has passed since the last one; the interval starts at the global
 * interval and doubles up to a day. Returns whether to log now. */
static bool complaint_due(c_complain_t *c) {
  cdtime_t now = cdtime(), interval = plugin_get_interval();

  if (c->last + c->interval > now)
    return false;
  c->last = now;
  if (c->interval < interval)
    c->interval = interval;
  else
    c->interval *= 2;
  if (c->interval > TIME_T_TO_CDTIME_T(86400))
    c->interval = TIME_T_TO_CDTIME_T(86400);
  return true;
}

__attribute__((format(printf, 3, 0))) static void
complain(int level, c_complain_t *c, const char *format, va_list ap) {
  char msg[STUB_LOG_LINE_MAX];

  vsnprintf(msg, sizeof(msg), format, ap);
  if (!complaint_due(c))
    return;
  c->complained_once = true;
  log_add(level, msg);
}

void c_complain(int level, c_complain_t *c, const char *format, ...) {
  va_list ap;

  va_start(ap, format);
  complain(level, c, format, ap);
  va_end(ap);
}

void c_complain_once(int level, c_complain_t *c, const char *format, ...) {
  va_list ap;

  if (c->complained_once)
    return;
  va_start(ap, format);
  complain(level, c, format, ap);
  va_end(ap);
}

/* c_release (a macro) calls this only when c_would_release. */
void c_do_release(int level, c_complain_t *c, const char *format, ...) {
  char msg[STUB_LOG_LINE_MAX];
  va_list ap;

  va_start(ap, format);
  vsnprintf(msg, sizeof(msg), format, ap);
  va_end(ap);
  if (c->interval == 0)
    return;
  c->interval = 0;
  c->complained_once = false;
  log_add(level, msg);
}

/* --------------------------------------------------------- meta data */

typedef union {
  char *string;
  int64_t signed_int;
  uint64_t unsigned_int;
  double dbl;
  bool boolean;
} md_value_t;

typedef struct md_entry_s {
  char *key;
  int type; /* MD_TYPE_* */
  md_value_t v;
  struct md_entry_s *next;
} md_entry_t;

struct meta_data_s {
  md_entry_t *head;
  size_t num;
};

static void md_entry_free(md_entry_t *e) {
  if (e->type == MD_TYPE_STRING)
    free(e->v.string);
  free(e->key);
  free(e);
}

static md_entry_t *md_find(meta_data_t *md, const char *key) {
  for (md_entry_t *e = md->head; e != NULL; e = e->next)
    if (strcmp(e->key, key) == 0)
      return e;
  return NULL;
}

meta_data_t *meta_data_create(void) {
  meta_data_t *md;

  strict_reached("meta_data_create");
  md = calloc(1, sizeof(*md));
  if (md == NULL)
    stub_fail("out of memory");
  return md;
}

void meta_data_destroy(meta_data_t *md) {
  strict_reached("meta_data_destroy");
  if (md == NULL)
    return;
  while (md->head != NULL) {
    md_entry_t *e = md->head;
    md->head = e->next;
    md_entry_free(e);
  }
  free(md);
}

/* Adds or replaces key (a string value is copied), as collectd does. fn
 * is the caller, for strict mode. */
static int md_put(const char *fn, meta_data_t *md, const char *key, int type,
                  md_value_t v) {
  md_entry_t *e;
  char *copy = NULL; /* first: v.string may be the value it replaces */

  strict_reached(fn);
  if (md == NULL || key == NULL || (type == MD_TYPE_STRING && v.string == NULL))
    return -EINVAL;
  e = md_find(md, key);
  if (e == NULL && md->num >= STUB_MD_MAX)
    return -ENOMEM;
  if (type == MD_TYPE_STRING)
    copy = xstrdup(v.string);
  if (e == NULL) {
    e = calloc(1, sizeof(*e));
    if (e == NULL)
      stub_fail("out of memory");
    e->key = xstrdup(key);
    e->next = md->head;
    md->head = e;
    md->num++;
  } else if (e->type == MD_TYPE_STRING) {
    free(e->v.string);
  }
  e->type = type;
  e->v = v;
  if (type == MD_TYPE_STRING)
    e->v.string = copy;
  return 0;
}

/* The value of key into *out (a string: a copy the caller frees, as
 * collectd's) if it has that type: -EINVAL for a NULL argument, -ENOENT
 * when absent or of another type (logged, as collectd does). */
static int md_get(const char *fn, meta_data_t *md, const char *key, int type,
                  void *out) {
  md_entry_t *e;

  strict_reached(fn);
  if (md == NULL || key == NULL || out == NULL)
    return -EINVAL;
  e = md_find(md, key);
  if (e == NULL)
    return -ENOENT;
  if (e->type != type) {
    ERROR("%s: Type mismatch for key `%s'", fn, key);
    return -ENOENT;
  }
  switch (type) {
  case MD_TYPE_STRING:
    *(char **)out = xstrdup(e->v.string);
    break;
  case MD_TYPE_SIGNED_INT:
    *(int64_t *)out = e->v.signed_int;
    break;
  case MD_TYPE_UNSIGNED_INT:
    *(uint64_t *)out = e->v.unsigned_int;
    break;
  case MD_TYPE_DOUBLE:
    *(double *)out = e->v.dbl;
    break;
  default:
    *(bool *)out = e->v.boolean;
    break;
  }
  return 0;
}

meta_data_t *meta_data_clone(meta_data_t *orig) {
  meta_data_t *copy;

  strict_reached("meta_data_clone");
  if (orig == NULL)
    return NULL;
  copy = meta_data_create();
  /* From the oldest, so that the copy lists them in the same order. */
  for (size_t n = orig->num; n > 0; n--) {
    md_entry_t *e = orig->head;
    for (size_t i = 1; i < n; i++)
      e = e->next;
    md_put(__func__, copy, e->key, e->type, e->v);
  }
  return copy;
}

int meta_data_exists(meta_data_t *md, const char *key) {
  strict_reached("meta_data_exists");
  return md != NULL && key != NULL && md_find(md, key) != NULL;
}

int meta_data_type(meta_data_t *md, const char *key) {
  md_entry_t *e;

  strict_reached("meta_data_type");
  if (md == NULL || key == NULL)
    return -EINVAL;
  e = md_find(md, key);
  return e != NULL ? e->type : 0;
}

int meta_data_delete(meta_data_t *md, const char *key) {
  strict_reached("meta_data_delete");
  if (md == NULL || key == NULL)
    return -EINVAL;
  for (md_entry_t **p = &md->head; *p != NULL; p = &(*p)->next)
    if (strcmp((*p)->key, key) == 0) {
      md_entry_t *e = *p;
      *p = e->next;
      md_entry_free(e);
      md->num--;
      return 0;
    }
  return -ENOENT;
}

int meta_data_add_string(meta_data_t *md, const char *key, const char *value) {
  return md_put(__func__, md, key, MD_TYPE_STRING,
                (md_value_t){.string = (char *)value});
}

int meta_data_add_signed_int(meta_data_t *md, const char *key, int64_t value) {
  return md_put(__func__, md, key, MD_TYPE_SIGNED_INT,
                (md_value_t){.signed_int = value});
}

int meta_data_add_unsigned_int(meta_data_t *md, const char *key,
                               uint64_t value) {
  return md_put(__func__, md, key, MD_TYPE_UNSIGNED_INT,
                (md_value_t){.unsigned_int = value});
}

int meta_data_add_double(meta_data_t *md, const char *key, double value) {
  return md_put(__func__, md, key, MD_TYPE_DOUBLE, (md_value_t){.dbl = value});
}

int meta_data_add_boolean(meta_data_t *md, const char *key, bool value) {
  return md_put(__func__, md, key, MD_TYPE_BOOLEAN,
                (md_value_t){.boolean = value});
}

int meta_data_get_string(meta_data_t *md, const char *key, char **value) {
  return md_get(__func__, md, key, MD_TYPE_STRING, value);
}

int meta_data_get_signed_int(meta_data_t *md, const char *key, int64_t *value) {
  return md_get(__func__, md, key, MD_TYPE_SIGNED_INT, value);
}

int meta_data_get_unsigned_int(meta_data_t *md, const char *key,
                               uint64_t *value) {
  return md_get(__func__, md, key, MD_TYPE_UNSIGNED_INT, value);
}

int meta_data_get_double(meta_data_t *md, const char *key, double *value) {
  return md_get(__func__, md, key, MD_TYPE_DOUBLE, value);
}

int meta_data_get_boolean(meta_data_t *md, const char *key, bool *value) {
  return md_get(__func__, md, key, MD_TYPE_BOOLEAN, value);
}

/* -------------------------------------------------------- dispatched */

/* Copies kept, in order: the value lists, the notifications. */
typedef struct {
  void *item[STUB_CAPTURE_MAX];
  size_t num;
  uint64_t dropped;
} capture_t;

static capture_t values, notifs;

/* Keeps item (the list's from now on); false when the list is full: then
 * it is counted, and the caller's to free. */
static bool capture_keep(capture_t *c, void *item) {
  bool kept;

  pthread_mutex_lock(&lock);
  kept = c->num < STUB_CAPTURE_MAX;
  if (kept)
    c->item[c->num++] = item;
  else
    c->dropped++;
  pthread_cond_broadcast(&dispatched);
  pthread_mutex_unlock(&lock);
  return kept;
}

/* A copy is never changed once kept, until the clear. */
static void *capture_get(capture_t *c, size_t i) {
  void *item;
  pthread_mutex_lock(&lock);
  item = i < c->num ? c->item[i] : NULL;
  pthread_mutex_unlock(&lock);
  return item;
}

/* Empties the list: its items into gone, how many. */
static size_t capture_take(capture_t *c, void **gone) {
  size_t n;
  pthread_mutex_lock(&lock);
  n = c->num;
  memcpy(gone, c->item, n * sizeof(*gone));
  c->num = 0;
  c->dropped = 0;
  pthread_mutex_unlock(&lock);
  return n;
}

static void value_free(value_list_t *vl) {
  free(vl->values);
  meta_data_destroy(vl->meta);
  free(vl);
}

/* What collectd 5.12's plugin_dispatch_values fills in, then a copy kept
 * (collectd copies values and meta data too). */
int plugin_dispatch_values(value_list_t const *vl) {
  value_list_t *copy;

  strict_reached("plugin_dispatch_values");
  /* Refused as collectd refuses it (its queueing fails). */
  if (vl == NULL || vl->values == NULL || vl->values_len == 0 ||
      vl->type[0] == 0) {
    ERROR("plugin_dispatch_values: plugin_write_enqueue failed");
    return ENOMEM;
  }
  copy = calloc(1, sizeof(*copy));
  if (copy == NULL)
    stub_fail("out of memory");
  *copy = *vl;
  copy->values = calloc(vl->values_len, sizeof(*copy->values));
  if (copy->values == NULL)
    stub_fail("out of memory");
  memcpy(copy->values, vl->values, vl->values_len * sizeof(*copy->values));
  copy->meta = meta_data_clone(vl->meta);
  if (copy->time == 0)
    copy->time = cdtime();
  if (copy->interval == 0)
    copy->interval = plugin_get_interval();
  if (copy->host[0] == 0)
    sstrncpy(copy->host, hostname_g, sizeof(copy->host));

  if (!capture_keep(&values, copy))
    value_free(copy);
  return 0;
}

size_t stub_values_count(void) { return locked_size(&values.num); }

const value_list_t *stub_value(size_t i) { return capture_get(&values, i); }

static bool name_is(const char *got, const char *want) {
  return want == NULL || strcmp(got, want) == 0;
}

const value_list_t *stub_value_find(const char *plugin,
                                    const char *plugin_instance,
                                    const char *type,
                                    const char *type_instance) {
  const value_list_t *found = NULL;

  pthread_mutex_lock(&lock);
  for (size_t i = values.num; i > 0 && found == NULL; i--) {
    const value_list_t *vl = values.item[i - 1];
    if (name_is(vl->plugin, plugin) &&
        name_is(vl->plugin_instance, plugin_instance) &&
        name_is(vl->type, type) && name_is(vl->type_instance, type_instance))
      found = vl;
  }
  pthread_mutex_unlock(&lock);
  return found;
}

bool stub_values_wait(size_t n, int timeout_ms) {
  struct timespec until;
  bool enough;

  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += timeout_ms / 1000;
  until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&lock);
  while (values.num < n)
    if (pthread_cond_timedwait(&dispatched, &lock, &until) != 0)
      break;
  enough = values.num >= n;
  pthread_mutex_unlock(&lock);
  return enough;
}

uint64_t stub_values_dropped(void) { return locked_u64(&values.dropped); }

void stub_values_clear(void) {
  void *gone[STUB_CAPTURE_MAX];
  size_t n = capture_take(&values, gone);

  for (size_t i = 0; i < n; i++)
    value_free(gone[i]);
}

/* collectd 5.12's notification meta data: a list, appended to, its
 * strings copied. */
static int nmeta_add(const char *fn, notification_t *n, const char *name,
                     enum notification_meta_type_e type, const char *string,
                     notification_meta_t v) {
  notification_meta_t *m, **tail;

  strict_reached(fn);
  if (n == NULL || name == NULL || (type == NM_TYPE_STRING && string == NULL))
    return -1;
  m = calloc(1, sizeof(*m));
  if (m == NULL)
    stub_fail("out of memory");
  *m = v;
  sstrncpy(m->name, name, sizeof(m->name));
  m->type = type;
  if (type == NM_TYPE_STRING)
    m->nm_value.nm_string = xstrdup(string);
  m->next = NULL;
  for (tail = &n->meta; *tail != NULL; tail = &(*tail)->next)
    ;
  *tail = m;
  return 0;
}

int plugin_notification_meta_add_string(notification_t *n, const char *name,
                                        const char *value) {
  return nmeta_add(__func__, n, name, NM_TYPE_STRING, value,
                   (notification_meta_t){0});
}

int plugin_notification_meta_add_signed_int(notification_t *n, const char *name,
                                            int64_t value) {
  return nmeta_add(__func__, n, name, NM_TYPE_SIGNED_INT, NULL,
                   (notification_meta_t){.nm_value.nm_signed_int = value});
}

int plugin_notification_meta_add_unsigned_int(notification_t *n,
                                              const char *name,
                                              uint64_t value) {
  return nmeta_add(__func__, n, name, NM_TYPE_UNSIGNED_INT, NULL,
                   (notification_meta_t){.nm_value.nm_unsigned_int = value});
}

int plugin_notification_meta_add_double(notification_t *n, const char *name,
                                        double value) {
  return nmeta_add(__func__, n, name, NM_TYPE_DOUBLE, NULL,
                   (notification_meta_t){.nm_value.nm_double = value});
}

int plugin_notification_meta_add_boolean(notification_t *n, const char *name,
                                         bool value) {
  return nmeta_add(__func__, n, name, NM_TYPE_BOOLEAN, NULL,
                   (notification_meta_t){.nm_value.nm_boolean = value});
}

int plugin_notification_meta_free(notification_meta_t *n) {
  strict_reached("plugin_notification_meta_free");
  if (n == NULL)
    return -1;
  while (n != NULL) {
    notification_meta_t *next = n->next;
    if (n->type == NM_TYPE_STRING)
      free((char *)n->nm_value.nm_string);
    free(n);
    n = next;
  }
  return 0;
}

static void notification_free(notification_t *n) {
  plugin_notification_meta_free(n->meta);
  free(n);
}

int plugin_dispatch_notification(const notification_t *notif) {
  notification_t *copy;

  strict_reached("plugin_dispatch_notification");
  if (notif == NULL)
    return EINVAL;
  copy = calloc(1, sizeof(*copy));
  if (copy == NULL)
    stub_fail("out of memory");
  *copy = *notif;
  copy->meta = NULL;
  for (const notification_meta_t *m = notif->meta; m != NULL; m = m->next)
    nmeta_add(__func__, copy, m->name, m->type, m->nm_value.nm_string, *m);

  if (!capture_keep(&notifs, copy))
    notification_free(copy);
  return 0;
}

size_t stub_notifications_count(void) { return locked_size(&notifs.num); }

const notification_t *stub_notification(size_t i) {
  return capture_get(&notifs, i);
}

uint64_t stub_notifications_dropped(void) {
  return locked_u64(&notifs.dropped);
}

void stub_notifications_clear(void) {
  void *gone[STUB_CAPTURE_MAX];
  size_t n = capture_take(&notifs, gone);

  for (size_t i = 0; i < n; i++)
    notification_free(gone[i]);
}

/* ------------------------------------------------------- value cache */

typedef struct {
  char id[6 * DATA_MAX_NAME_LEN];
  gauge_t *rates;
  size_t num;
} rate_t;

static rate_t rates[STUB_RATES_MAX];
static size_t rates_num;

int stub_set_rate(const char *identifier, const gauge_t *r, size_t n) {
  gauge_t *copy = calloc(n > 0 ? n : 1, sizeof(*copy));
  rate_t *slot = NULL;

  if (copy == NULL)
    stub_fail("out of memory");
  memcpy(copy, r, n * sizeof(*copy));
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < rates_num && slot == NULL; i++)
    if (strcmp(rates[i].id, identifier) == 0)
      slot = &rates[i];
  if (slot == NULL && rates_num < STUB_RATES_MAX) {
    slot = &rates[rates_num++];
    sstrncpy(slot->id, identifier, sizeof(slot->id));
    slot->rates = NULL;
  }
  if (slot != NULL) {
    free(slot->rates);
    slot->rates = copy;
    slot->num = n;
    copy = NULL;
  }
  pthread_mutex_unlock(&lock);
  free(copy);
  return slot != NULL ? 0 : -1;
}

void stub_rates_clear(void) {
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < rates_num; i++)
    free(rates[i].rates);
  rates_num = 0;
  pthread_mutex_unlock(&lock);
}

/* collectd 5.12's: the rates of the cache's entry for vl, a copy the
 * caller frees; NULL when vl is not in the cache or its number of rates
 * is not ds's (logged). */
gauge_t *uc_get_rate(const data_set_t *ds, const value_list_t *vl) {
  char id[6 * DATA_MAX_NAME_LEN];
  gauge_t *ret = NULL;
  size_t num = 0;
  bool found = false;

  strict_reached("uc_get_rate");
  if (FORMAT_VL(id, sizeof(id), vl) != 0) {
    ERROR("utils_cache: uc_get_rate: FORMAT_VL failed.");
    return NULL;
  }
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < rates_num && !found; i++)
    if (strcmp(rates[i].id, id) == 0) {
      found = true;
      num = rates[i].num;
      if (num == ds->ds_num) {
        ret = calloc(num, sizeof(*ret));
        if (ret != NULL)
          memcpy(ret, rates[i].rates, num * sizeof(*ret));
      }
    }
  pthread_mutex_unlock(&lock);
  if (found && num != ds->ds_num)
    ERROR("utils_cache: uc_get_rate: ds[%s] has %zu values, but "
          "uc_get_rate_by_name returned %zu.",
          ds->type, ds->ds_num, num);
  return ret;
}

/* "host/plugin[-plugin_instance]/type[-type_instance]"; ENOBUFS when it
 * does not fit, EINVAL without a plugin or type. */
int format_name(char *ret, int ret_len, const char *hostname,
                const char *plugin, const char *plugin_instance,
                const char *type, const char *type_instance) {
  bool pi = plugin_instance != NULL && plugin_instance[0] != 0;
  bool ti = type_instance != NULL && type_instance[0] != 0;
  int n;

  strict_reached("format_name");
  if (plugin == NULL || type == NULL || ret_len <= 0)
    return EINVAL;
  n = snprintf(ret, (size_t)ret_len, "%s/%s%s%s/%s%s%s", hostname, plugin,
               pi ? "-" : "", pi ? plugin_instance : "", type, ti ? "-" : "",
               ti ? type_instance : "");
  return n >= 0 && n < ret_len ? 0 : ENOBUFS;
}

/* ------------------------------------------------------------- utils */

/* As collectd's: at most n - 1 bytes, the rest of dest zeroed. */
char *sstrncpy(char *dest, const char *src, size_t n) {
  size_t len = strnlen(src, n - 1);
  memcpy(dest, src, len);
  memset(dest + len, 0, n - len);
  return dest;
}

int ssnprintf(char *str, size_t size, const char *format, ...) {
  va_list ap;
  int status;

  va_start(ap, format);
  status = vsnprintf(str, size, format, ap);
  va_end(ap);
  return status;
}

char *sstrerror(int errnum, char *buf, size_t buflen) {
  snprintf(buf, buflen, "%s", strerror(errnum));
  return buf;
}

/* -------------------------------------------------- the config file */

/* The syntax collectd's liboconfig reads, a subset (see
 * collectd_stubs.h). */

typedef struct {
  const char *p;
  size_t items;
} reader_t;

static void item_free(oconfig_item_t *ci) {
  for (int i = 0; i < ci->values_num; i++)
    if (ci->values[i].type == OCONFIG_TYPE_STRING)
      free(ci->values[i].value.string);
  free(ci->values);
  for (int i = 0; i < ci->children_num; i++)
    item_free(&ci->children[i]);
  free(ci->children);
  free(ci->key);
}

static void set_parents(oconfig_item_t *ci) {
  for (int i = 0; i < ci->children_num; i++) {
    ci->children[i].parent = ci;
    set_parents(&ci->children[i]);
  }
}

static void skip_blanks(reader_t *r) {
  while (*r->p == ' ' || *r->p == '\t' || *r->p == '\r')
    r->p++;
}

/* At the end of a line (blanks, then a comment or the newline)? Moves past
 * it if so. */
static bool end_of_line(reader_t *r) {
  skip_blanks(r);
  if (*r->p == '#')
    while (*r->p != 0 && *r->p != '\n')
      r->p++;
  if (*r->p == '\n') {
    r->p++;
    return true;
  }
  return *r->p == 0;
}

static char *read_key(reader_t *r) {
  const char *start = r->p;
  if (!(isalpha((unsigned char)*r->p) || *r->p == '_'))
    return NULL;
  while (isalnum((unsigned char)*r->p) || *r->p == '_')
    r->p++;
  return strndup(start, (size_t)(r->p - start));
}

/* collectd's scanner: DEC_NUMBER, HEX_NUMBER, OCT_NUMBER, FLOAT_NUMBER. */
static bool is_number(const char *s) {
  const char *p = s;
  bool digits = false;

  if ((p[0] == '0') && (p[1] == 'x' || p[1] == 'X')) {
    for (p += 2; isxdigit((unsigned char)*p); p++)
      digits = true;
    return digits && *p == 0;
  }
  if (*p == '+' || *p == '-')
    p++;
  while (isdigit((unsigned char)*p)) {
    p++;
    digits = true;
  }
  if (*p == 0)
    return digits;
  if (*p++ != '.' || !isdigit((unsigned char)*p))
    return false;
  while (isdigit((unsigned char)*p))
    p++;
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p != '+' && *p != '-')
      return false;
    p++;
    if (!isdigit((unsigned char)*p))
      return false;
    while (isdigit((unsigned char)*p))
      p++;
  }
  return *p == 0;
}

/* Reads one value; returns false if there is none or it is malformed. */
static bool read_value(reader_t *r, oconfig_value_t *v) {
  char *s;
  size_t n = 0;

  if (*r->p == '"') {
    const char *q = ++r->p;
    size_t len = 0;
    while (*q != '"') {
      if (*q == 0 || (*q == '\\' && q[1] == 0))
        return false;
      q += *q == '\\' ? 2 : 1;
      len++;
    }
    s = malloc(len + 1);
    if (s == NULL)
      return false;
    while (*r->p != '"') {
      if (*r->p == '\\')
        r->p++;
      s[n++] = *r->p++;
    }
    s[n] = 0;
    r->p++;
    v->type = OCONFIG_TYPE_STRING;
    v->value.string = s;
    return true;
  }

  while (r->p[n] != 0 && !isspace((unsigned char)r->p[n]) &&
         strchr("<>\"#", r->p[n]) == NULL)
    n++;
  if (n == 0)
    return false;
  s = strndup(r->p, n);
  if (s == NULL)
    return false;
  r->p += n;
  if (is_number(s)) {
    v->type = OCONFIG_TYPE_NUMBER;
    v->value.number = strtod(s, NULL);
    free(s);
  } else if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0 ||
             strcmp(s, "on") == 0 || strcmp(s, "false") == 0 ||
             strcmp(s, "no") == 0 || strcmp(s, "off") == 0) {
    v->type = OCONFIG_TYPE_BOOLEAN;
    v->value.boolean = s[0] == 't' || s[0] == 'y' || strcmp(s, "on") == 0;
    free(s);
  } else {
    v->type = OCONFIG_TYPE_STRING;
    v->value.string = s;
  }
  return true;
}

/* Reads the values after a key, up to the end of the line or a '>'. */
static bool read_values(reader_t *r, oconfig_item_t *ci) {
  for (;;) {
    skip_blanks(r);
    if (*r->p == 0 || *r->p == '\n' || *r->p == '#' || *r->p == '>')
      return true;
    if (ci->values_num >= STUB_CONFIG_MAX_VALUES)
      return false;
    if (ci->values == NULL) {
      ci->values = calloc(STUB_CONFIG_MAX_VALUES, sizeof(*ci->values));
      if (ci->values == NULL)
        return false;
    }
    if (!read_value(r, &ci->values[ci->values_num]))
      return false;
    ci->values_num++;
  }
}

static bool add_child(oconfig_item_t *parent, const oconfig_item_t *child) {
  oconfig_item_t *c = realloc(parent->children,
                              (size_t)(parent->children_num + 1) * sizeof(*c));
  if (c == NULL)
    return false;
  parent->children = c;
  parent->children[parent->children_num++] = *child;
  return true;
}

/* Reads the items of the block `parent` (depth: its own) up to its closing
 * tag, or to the end of the input for the top level. */
static bool read_block(reader_t *r, oconfig_item_t *parent, int depth) {
  for (;;) {
    oconfig_item_t child = {0};
    bool block = false;

    if (end_of_line(r)) {
      if (*r->p == 0)
        return depth == 0;
      continue;
    }
    if (r->p[0] == '<' && r->p[1] == '/') {
      char *key;
      bool ok;
      r->p += 2;
      key = read_key(r);
      ok = depth > 0 && key != NULL && strcasecmp(key, parent->key) == 0 &&
           *r->p == '>';
      free(key);
      if (!ok)
        return false;
      r->p++;
      return end_of_line(r);
    }
    if (*r->p == '<') {
      r->p++;
      block = true;
    }
    if (++r->items > STUB_CONFIG_MAX_ITEMS ||
        (block && depth + 1 > STUB_CONFIG_MAX_DEPTH))
      return false;
    child.key = read_key(r);
    if (child.key == NULL)
      return false;
    if (!read_values(r, &child) || (block && *r->p++ != '>') ||
        !end_of_line(r) || (block && !read_block(r, &child, depth + 1)) ||
        !add_child(parent, &child)) {
      item_free(&child);
      return false;
    }
  }
}

oconfig_item_t *stub_config_read(const char *text) {
  oconfig_item_t *root = calloc(1, sizeof(*root));
  reader_t r = {.p = text, .items = 0};

  if (root == NULL)
    stub_fail("out of memory");
  if (!read_block(&r, root, 0)) {
    stub_config_free(root);
    return NULL;
  }
  set_parents(root);
  return root;
}

void stub_config_free(oconfig_item_t *root) {
  if (root == NULL)
    return;
  item_free(root);
  free(root);
}

/* ----------------------------------------------------- configuration */

/* Each as collectd 5.12's src/daemon/configfile.c: the same type checks
 * and return values; the daemon's error messages are left out. */

/* Whether ci holds exactly one value, of type t. */
static bool one_value(const oconfig_item_t *ci, int t) {
  return ci->values_num == 1 && ci->values[0].type == t;
}

int cf_util_get_string(const oconfig_item_t *ci, char **ret_string) {
  char *string;

  if (!one_value(ci, OCONFIG_TYPE_STRING))
    return -1;
  string = strdup(ci->values[0].value.string);
  if (string == NULL)
    return -1;
  free(*ret_string);
  *ret_string = string;
  return 0;
}

int cf_util_get_string_buffer(const oconfig_item_t *ci, char *buffer,
                              size_t buffer_size) {
  if (ci == NULL || buffer == NULL || buffer_size < 1)
    return EINVAL;
  if (!one_value(ci, OCONFIG_TYPE_STRING))
    return -1;
  snprintf(buffer, buffer_size, "%s", ci->values[0].value.string);
  return 0;
}

/* The one number ci holds, as collectd's cf_util_get_* read one: EINVAL
 * when ci or d is NULL, -1 unless ci holds exactly one value, a number. */
static int get_number(const oconfig_item_t *ci, double *d) {
  if (ci == NULL || d == NULL)
    return EINVAL;
  if (!one_value(ci, OCONFIG_TYPE_NUMBER))
    return -1;
  *d = ci->values[0].value.number;
  return 0;
}

/* collectd converts with a plain (int) cast, which is undefined for a
 * number outside int's range or NaN (a config file can hold 1e99). This
 * stub gives what that cast gives on x86-64, INT_MIN, so that the fuzzer
 * judges the plugins, not the daemon. */
int cf_util_get_int(const oconfig_item_t *ci, int *ret_value) {
  double d;
  int status = ret_value != NULL ? get_number(ci, &d) : EINVAL;

  if (status == 0)
    *ret_value = (d > -2147483649.0 && d < 2147483648.0) ? (int)d : INT_MIN;
  return status;
}

int cf_util_get_double(const oconfig_item_t *ci, double *ret_value) {
  return get_number(ci, ret_value);
}

int cf_util_get_boolean(const oconfig_item_t *ci, bool *ret_bool) {
  if (ci == NULL || ret_bool == NULL)
    return EINVAL;
  if (ci->values_num != 1 || (ci->values[0].type != OCONFIG_TYPE_BOOLEAN &&
                              ci->values[0].type != OCONFIG_TYPE_STRING))
    return -1;
  if (ci->values[0].type == OCONFIG_TYPE_BOOLEAN) {
    *ret_bool = ci->values[0].value.boolean ? true : false;
    return 0;
  }
  /* Deprecated but accepted: "true", "yes", "on" and their opposites. */
  if (IS_TRUE(ci->values[0].value.string))
    *ret_bool = true;
  else if (IS_FALSE(ci->values[0].value.string))
    *ret_bool = false;
  else
    return -1;
  return 0;
}

int cf_util_get_flag(const oconfig_item_t *ci, unsigned int *ret_value,
                     unsigned int flag) {
  bool b = false;
  int status;

  if (ret_value == NULL)
    return EINVAL;
  status = cf_util_get_boolean(ci, &b);
  if (status != 0)
    return status;
  if (b)
    *ret_value |= flag;
  else
    *ret_value &= ~flag;
  return 0;
}

/* Negative numbers are refused as by collectd; above 2^34 s (about 544
 * years) collectd's DOUBLE_TO_CDTIME_T overflows, which is undefined: the
 * stub saturates instead (see cf_util_get_int). */
int cf_util_get_cdtime(const oconfig_item_t *ci, cdtime_t *ret_value) {
  double d;
  int status = ret_value != NULL ? get_number(ci, &d) : EINVAL;

  if (status == 0 && d < 0.0)
    status = -1;
  if (status == 0)
    *ret_value = d < 17179869184.0 ? DOUBLE_TO_CDTIME_T(d) : UINT64_MAX;
  return status;
}
