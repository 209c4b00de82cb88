/* SPDX-License-Identifier: MIT */
/*
 * collectd_stubs: a stand-in for the collectd 5.12 daemon, for the
 * programs that link the plugins' glue without it: the config fuzzer
 * (tests/fuzz/fuzz_config.c) and the glue's unit tests (tests/unit/glue).
 *
 * What it does as collectd does:
 *   - registrations are kept in a list; stub_config(), stub_init_all(),
 *     stub_shutdown_all(), stub_write(), stub_notify() and stub_flush()
 *     call them as the daemon would, and stub_free_registered() empties it
 *     the way collectd does at shutdown, calling each user data's
 *     free_func;
 *   - the cf_util_* functions: the same checks and return values;
 *   - meta data: a real store (meta_data_create, add_*, get_*, exists,
 *     delete, clone, destroy), with collectd's return values (-EINVAL,
 *     -ENOENT; a type mismatch is logged and -ENOENT);
 *   - c_complain / c_complain_once / c_release: logged at most once per
 *     interval (the first interval is plugin_get_interval(), then it
 *     doubles up to a day, on cdtime()'s clock), and the release line
 *     only when something was complained about;
 *   - plugin_dispatch_values() fills in what collectd fills in (time 0:
 *     cdtime(); interval 0: plugin_get_interval(); no host: hostname_g)
 *     and keeps a copy, meta data included; plugin_dispatch_notification()
 *     keeps a copy with its meta data. Nothing dispatched is handed to the
 *     write or notification callbacks: a test calls stub_write() or
 *     stub_notify() with what it wants them to get;
 *   - uc_get_rate(): the rates a test set for the value list's identifier
 *     (format_name's "host/plugin[-instance]/type[-instance]"), a copy the
 *     caller frees; NULL for an identifier not in the cache, or when the
 *     number of rates is not the data set's (as collectd, logged). For
 *     collectd's answer to the first value of a counter or derive, set
 *     NaN rates: its cache holds NaN until the second value.
 *
 * Strict mode (stub_strict(true)), for the config fuzzer: reaching what
 * only reads, writes and the sender thread's flushes reach (dispatching
 * values or notifications, building meta data, the value cache) is a bug
 * of the configuration path: the stand-in says what was reached and
 * aborts.
 *
 *   - the config file (stub_config_read) and types.db lines
 *     (stub_types_read), in collectd's syntax.
 *
 * The log, the captures, the clock, the interval and the cache may be
 * used from any thread (write_cloudwatch's sender thread logs and
 * dispatches its own counters): they are guarded by one lock. The
 * registry, the types and the config reader are the test's thread's, as
 * they are collectd's main thread's. What the stub_* getters return stays
 * valid until the matching clear (or stub_free_registered for user
 * data).
 *
 * Limits: STUB_LOG_MAX lines of STUB_LOG_LINE_MAX bytes, STUB_CAPTURE_MAX
 * value lists and as many notifications, STUB_RATES_MAX identifiers,
 * STUB_MD_MAX entries in one meta data; lines and captures beyond are
 * counted (stub_log_dropped, stub_values_dropped,
 * stub_notifications_dropped), a rate or meta data
 * entry beyond is refused. SM_STUB_LOG in the environment also prints
 * every log line on stderr.
 */
#ifndef COLLECTD_STUBS_H
#define COLLECTD_STUBS_H 1

#include "sm_collectd.h"

#include <stdbool.h>
#include <stdint.h>

#define STUB_LOG_MAX 1024
#define STUB_LOG_LINE_MAX 1024
#define STUB_CAPTURE_MAX 4096
#define STUB_RATES_MAX 256
#define STUB_MD_MAX 256

/* The plugins' module_register, renamed so that both link into one
 * program (see tests/fuzz/glue_*.c). */
void sagemaker_async_module_register(void);
void write_cloudwatch_module_register(void);

/* ------------------------------------------------------------- modes */

/* On: what the configuration path must not reach aborts (see above). */
void stub_strict(bool on);

/* ------------------------------------------------------------ clocks */

/* What plugin_get_interval() returns: the global Interval. */
void stub_set_interval(cdtime_t interval);
/* What cdtime() returns from now on; 0: the real clock again. */
void stub_set_time(cdtime_t now);

/* --------------------------------------------------- the config file */

/* Reads a collectd.conf in the syntax collectd's liboconfig reads (a
 * subset: no includes, no line continuations): `Key value ...` lines and
 * `<Key value ...>` ... `</Key>` blocks, nested at most
 * STUB_CONFIG_MAX_DEPTH deep; values are "quoted strings" (a backslash
 * takes the next byte as is), numbers as collectd's scanner knows them
 * (decimal, hexadecimal, octal, decimal fractions with an exponent),
 * true/yes/on and false/no/off, and other bare words as strings. Returns
 * the root item, whose children are the file's top-level items (parents
 * set), or NULL when the text is not one this reader takes. */
#define STUB_CONFIG_MAX_DEPTH 3   /* <Plugin>, <Runtime>, one more */
#define STUB_CONFIG_MAX_ITEMS 512 /* in one text */
#define STUB_CONFIG_MAX_VALUES 16 /* on one line */
oconfig_item_t *stub_config_read(const char *text);
void stub_config_free(oconfig_item_t *root);

/* ---------------------------------------------------------- registry */

/* Calls the complex config callback registered for the block's plugin
 * name (ci is the <Plugin NAME> block). Returns its result, or 0 when no
 * plugin of that name registered one (collectd only warns then). */
int stub_config(oconfig_item_t *ci);

/* Calls every registered init callback in registration order; returns
 * the number that failed. */
int stub_init_all(void);
/* Calls every shutdown callback (collectd's shutdown, before the frees);
 * the number that failed. */
int stub_shutdown_all(void);

/* Hands a value list to every registered write callback, as collectd's
 * writer threads do; the number that failed. */
int stub_write(const data_set_t *ds, const value_list_t *vl);
/* Hands a notification to every notification callback; the number that
 * failed. */
int stub_notify(const notification_t *n);
/* Calls every flush callback (timeout 0, no identifier, as collectd's
 * shutdown flush); the number that failed. */
int stub_flush(void);

/* Frees every read, write, flush and notification callback registered
 * since the last call, with its user data's free_func, as collectd does
 * at shutdown. Config, init and shutdown callbacks stay registered. */
void stub_free_registered(void);

/* Counts of what is registered now, for sanity checks. */
size_t stub_registered(const char *kind);
/* The user data of the callback of that kind ("write", ...) and name, or
 * NULL when there is none. */
void *stub_user_data(const char *kind, const char *name);

/* ------------------------------------------------------------- types */

/* Reads types.db lines ("name ds:TYPE:min:max, ...", # comments) into the
 * types plugin_get_ds() knows. Returns how many were read, or -1 at a
 * malformed line. Data sets the plugins register are checked, not kept:
 * without types read, every type is unknown. */
#define STUB_TYPES_MAX 64
#define STUB_TYPES_MAX_DS 16
int stub_types_read(const char *text);
void stub_types_clear(void);

/* ------------------------------------------------------------ the log */

/* Lines logged since the last clear (plugin_log, and c_complain's). */
size_t stub_log_count(void);
/* Line i (0 is the oldest) and its level (LOG_ERR, ...; unless NULL),
 * or NULL past the end. */
const char *stub_log_line(size_t i, int *level);
/* The first line that contains text, at that level (-1: any), or NULL. */
const char *stub_log_find(int level, const char *text);
/* How many lines contain text, at that level (-1: any). */
size_t stub_log_matches(int level, const char *text);
/* Lines not kept since the last clear: beyond STUB_LOG_MAX. */
uint64_t stub_log_dropped(void);
void stub_log_clear(void);

/* -------------------------------------------------------- dispatched */

/* Value lists dispatched since the last clear, copies (values and meta
 * data included), in order. */
size_t stub_values_count(void);
const value_list_t *stub_value(size_t i);
/* The last dispatched value list with these names (NULL: any), or NULL. */
const value_list_t *stub_value_find(const char *plugin,
                                    const char *plugin_instance,
                                    const char *type,
                                    const char *type_instance);
/* Waits until at least n value lists were dispatched since the last
 * clear (another thread dispatches); false after timeout_ms without. */
bool stub_values_wait(size_t n, int timeout_ms);
uint64_t stub_values_dropped(void);
void stub_values_clear(void);

/* Notifications dispatched since the last clear, copies with their meta
 * data, in order. */
size_t stub_notifications_count(void);
const notification_t *stub_notification(size_t i);
uint64_t stub_notifications_dropped(void);
void stub_notifications_clear(void);

/* ------------------------------------------------------- value cache */

/* The rates uc_get_rate() answers for the identifier ("host/plugin[-pi]/
 * type[-ti]"), n of them (copied; replaces earlier ones). 0, or -1 when
 * STUB_RATES_MAX identifiers are set already. */
int stub_set_rate(const char *identifier, const gauge_t *rates, size_t n);
/* Forgets every rate: the cache is empty. */
void stub_rates_clear(void);

#endif /* COLLECTD_STUBS_H */
