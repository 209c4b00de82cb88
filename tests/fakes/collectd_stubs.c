/* SPDX-License-Identifier: MIT */
/*
 * collectd_stubs: the part of the collectd 5.12 daemon that the plugins'
 * configuration, init and shutdown reach (see collectd_stubs.h).
 */
#include "collectd_stubs.h"

#include "collectd/core/daemon/utils_cache.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

char *hostname_g = "fuzz";
cdtime_t interval_g = TIME_T_TO_CDTIME_T_STATIC(10);

/* Reached only by reads, writes and the sender thread's flushes, which
 * the config fuzzer never runs: reaching one is a bug in the target or
 * the plugin. */
static void unreachable(const char *what) {
  fprintf(stderr, "collectd_stubs: %s called on the configuration path\n",
          what);
  abort();
}

/* ---------------------------------------------------------- registry */

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

static reg_t *reg_find(const char *kind, const char *name) {
  for (size_t i = 0; i < regs_num; i++)
    if (strcmp(regs[i].kind, kind) == 0 && strcmp(regs[i].name, name) == 0)
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

void stub_set_interval(cdtime_t interval) { interval_g = interval; }

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
    if (regs[i].kind != NULL && strcmp(regs[i].kind, "init") == 0 &&
        ((plugin_init_cb)regs[i].callback)() != 0)
      failed++;
  reg_compact();
  return failed;
}

int stub_shutdown_all(void) {
  int failed = 0;
  for (size_t i = 0; i < regs_num; i++)
    if (regs[i].kind != NULL && strcmp(regs[i].kind, "shutdown") == 0 &&
        ((int (*)(void))regs[i].callback)() != 0)
      failed++;
  return failed;
}

void stub_free_registered(void) {
  for (size_t i = 0; i < regs_num; i++)
    if (strcmp(regs[i].kind, "config") != 0 &&
        strcmp(regs[i].kind, "init") != 0 &&
        strcmp(regs[i].kind, "shutdown") != 0)
      reg_destroy(&regs[i]);
  reg_compact();
}

size_t stub_registered(const char *kind) {
  size_t n = 0;
  for (size_t i = 0; i < regs_num; i++)
    if (strcmp(regs[i].kind, kind) == 0)
      n++;
  return n;
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
    if (regs[i].kind != NULL && strcmp(regs[i].kind, "read") == 0 &&
        strcmp(regs[i].group, group) == 0) {
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

/* No types.db is loaded: every type is unknown, so the plugins register
 * their own. */
const data_set_t *plugin_get_ds(const char *name) {
  (void)name;
  return NULL;
}

int plugin_register_data_set(const data_set_t *ds) {
  if (ds->ds_num == 0 || ds->ds == NULL)
    return -1;
  return 0;
}

/* write_cloudwatch's init starts each block's sender thread: a real
 * thread, which waits for its first flush (a second at least) and is
 * stopped by the shutdown callback long before. */
int plugin_thread_create(pthread_t *thread, void *(*start_routine)(void *),
                         void *arg, char const *name) {
  (void)name;
  return pthread_create(thread, NULL, start_routine, arg);
}

/* ----------------------------------------------------------- logging */

/* Messages are formatted (their arguments must be valid) and dropped. */
void plugin_log(int level, const char *format, ...) {
  char msg[1024];
  va_list ap;

  (void)level;
  va_start(ap, format);
  vsnprintf(msg, sizeof(msg), format, ap);
  va_end(ap);
  if (getenv("SM_FUZZ_LOG") != NULL)
    fprintf(stderr, "log %d: %s\n", level, msg);
}

void c_complain(int level, c_complain_t *c, const char *format, ...) {
  char msg[1024];
  va_list ap;

  (void)level;
  c->interval = interval_g;
  c->last = cdtime();
  va_start(ap, format);
  vsnprintf(msg, sizeof(msg), format, ap);
  va_end(ap);
}

void c_do_release(int level, c_complain_t *c, const char *format, ...) {
  char msg[1024];
  va_list ap;

  (void)level;
  c->interval = 0;
  va_start(ap, format);
  vsnprintf(msg, sizeof(msg), format, ap);
  va_end(ap);
}

/* ------------------------------------------------------------- utils */

cdtime_t cdtime(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return TIMESPEC_TO_CDTIME_T(&ts);
}

cdtime_t plugin_get_interval(void) { return interval_g; }

char *sstrncpy(char *dest, const char *src, size_t n) {
  strncpy(dest, src, n);
  dest[n - 1] = 0;
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

/* ----------------------------------------------------- configuration */

/* Each as collectd 5.12's src/daemon/configfile.c: the same type checks
 * and return values; the daemon's error messages are left out. */

int cf_util_get_string(const oconfig_item_t *ci, char **ret_string) {
  char *string;

  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING)
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
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING)
    return -1;
  strncpy(buffer, ci->values[0].value.string, buffer_size);
  buffer[buffer_size - 1] = 0;
  return 0;
}

/* collectd converts with a plain (int) cast, which is undefined for a
 * number outside int's range or NaN (a config file can hold 1e99). This
 * stub gives what that cast gives on x86-64, INT_MIN, so that the fuzzer
 * judges the plugins, not the daemon. */
int cf_util_get_int(const oconfig_item_t *ci, int *ret_value) {
  double d;

  if (ci == NULL || ret_value == NULL)
    return EINVAL;
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER)
    return -1;
  d = ci->values[0].value.number;
  *ret_value = (d > -2147483649.0 && d < 2147483648.0) ? (int)d : INT_MIN;
  return 0;
}

int cf_util_get_double(const oconfig_item_t *ci, double *ret_value) {
  if (ci == NULL || ret_value == NULL)
    return EINVAL;
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER)
    return -1;
  *ret_value = ci->values[0].value.number;
  return 0;
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

  if (ci == NULL || ret_value == NULL)
    return EINVAL;
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER)
    return -1;
  d = ci->values[0].value.number;
  if (d < 0.0)
    return -1;
  *ret_value = d < 17179869184.0 ? DOUBLE_TO_CDTIME_T(d) : UINT64_MAX;
  return 0;
}

/* ------------------------------------------ not on the config path */

int plugin_dispatch_values(value_list_t const *vl) {
  (void)vl;
  unreachable("plugin_dispatch_values");
  return -1;
}

int plugin_dispatch_notification(const notification_t *notif) {
  (void)notif;
  unreachable("plugin_dispatch_notification");
  return -1;
}

int plugin_notification_meta_add_string(notification_t *n, const char *name,
                                        const char *value) {
  (void)n;
  (void)name;
  (void)value;
  unreachable("plugin_notification_meta_add_string");
  return -1;
}

int plugin_notification_meta_add_signed_int(notification_t *n, const char *name,
                                            int64_t value) {
  (void)n;
  (void)name;
  (void)value;
  unreachable("plugin_notification_meta_add_signed_int");
  return -1;
}

int plugin_notification_meta_free(notification_meta_t *n) {
  (void)n;
  unreachable("plugin_notification_meta_free");
  return -1;
}

meta_data_t *meta_data_create(void) {
  unreachable("meta_data_create");
  return NULL;
}

void meta_data_destroy(meta_data_t *md) {
  (void)md;
  unreachable("meta_data_destroy");
}

int meta_data_add_string(meta_data_t *md, const char *key, const char *value) {
  (void)md;
  (void)key;
  (void)value;
  unreachable("meta_data_add_string");
  return -1;
}

int meta_data_add_signed_int(meta_data_t *md, const char *key, int64_t value) {
  (void)md;
  (void)key;
  (void)value;
  unreachable("meta_data_add_signed_int");
  return -1;
}

int meta_data_get_string(meta_data_t *md, const char *key, char **value) {
  (void)md;
  (void)key;
  (void)value;
  unreachable("meta_data_get_string");
  return -1;
}

int format_name(char *ret, int ret_len, const char *hostname,
                const char *plugin, const char *plugin_instance,
                const char *type, const char *type_instance) {
  (void)ret;
  (void)ret_len;
  (void)hostname;
  (void)plugin;
  (void)plugin_instance;
  (void)type;
  (void)type_instance;
  unreachable("format_name");
  return -1;
}

gauge_t *uc_get_rate(const data_set_t *ds, const value_list_t *vl) {
  (void)ds;
  (void)vl;
  unreachable("uc_get_rate");
  return NULL;
}
