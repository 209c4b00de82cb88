/* SPDX-License-Identifier: MIT */
/*
 * collectd_stubs: just enough of the collectd 5.12 daemon for a fuzz
 * target to load the plugins' glue in one process, hand them
 * configuration blocks and call what they register, as the daemon does.
 *
 * The cf_util_* functions behave as collectd 5.12's (same checks, same
 * return values); registrations are kept in a list that
 * stub_free_registered() empties the way collectd does at shutdown, by
 * calling each user data's free_func. Callbacks the configuration path
 * must never reach (dispatching values, starting threads) abort.
 */
#ifndef COLLECTD_STUBS_H
#define COLLECTD_STUBS_H 1

#include "sm_collectd.h"

/* The plugins' module_register, renamed so that both link into one
 * program (see glue_*.c). */
void sagemaker_async_module_register(void);
void write_cloudwatch_module_register(void);

/* What plugin_get_interval() returns: the global Interval. */
void stub_set_interval(cdtime_t interval);

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

/* Frees every read, write, flush and notification callback registered
 * since the last call, with its user data's free_func, as collectd does
 * at shutdown. Config and init callbacks stay registered. */
void stub_free_registered(void);

/* Counts of what is registered now, for sanity checks. */
size_t stub_registered(const char *kind);

#endif /* COLLECTD_STUBS_H */
