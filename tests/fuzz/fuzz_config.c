/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the configuration of both plugins, from the block
 * collectd hands the config callback to the init callbacks and the free
 * functions of what was registered, as the daemon runs them.
 *
 * The input is a collectd.conf, read by the stand-in's reader
 * (stub_config_read: the syntax collectd's liboconfig reads, a subset).
 * Every <Plugin NAME> block goes to the config callback registered under
 * NAME; a top-level Interval sets the global interval. Input the reader
 * refuses is skipped.
 *
 * The plugins must not crash, leak or hit undefined behaviour whatever
 * the configuration; nothing may start a thread or touch the network:
 * no read, write or flush callback is called, and the environment leaves
 * the AWS code nothing to ask (no instance metadata, no credential
 * files).
 */
#include "aws_offline.h"
#include "collectd_stubs.h"

#include <stdint.h>

/* glibc's regcomp expands `x+` and `x{n}` by copying x, so stacked
 * repetitions take memory exponential in their number (`c+++...+` with 22
 * of them: about 3 GB). That is the C library's, whatever the plugin
 * does, so inputs whose Include or Exclude has a bounded repetition or more
 * than 8 `+` are skipped. */
static bool regex_explodes(const oconfig_value_t *v) {
  int plus = 0;

  if (v->type != OCONFIG_TYPE_STRING)
    return false;
  if (strchr(v->value.string, '{') != NULL)
    return true;
  for (const char *c = v->value.string; *c != 0; c++)
    plus += *c == '+';
  return plus > 8;
}

/* Whether an Include or Exclude under ci has such an expression. */
static bool has_exploding_regex(const oconfig_item_t *ci) {
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *c = &ci->children[i];
    if (strcasecmp(c->key, "Include") == 0 ||
        strcasecmp(c->key, "Exclude") == 0)
      for (int j = 0; j < c->values_num; j++)
        if (regex_explodes(&c->values[j]))
          return true;
    if (has_exploding_regex(c))
      return true;
  }
  return false;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  /* Nothing to ask (aws_offline.h), no credentials, and a region, so
   * that a block without Region gets past region discovery. */
  aws_offline();
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  setenv("AWS_REGION", "us-east-1", 1);

  /* A dispatch, a value cache lookup or meta data on this path is a bug. */
  stub_strict(true);
  sagemaker_async_module_register();
  write_cloudwatch_module_register();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  oconfig_item_t *root;
  int failed = 0;

  if (text == NULL)
    return 0;
  memcpy(text, data, size);
  text[size] = 0; /* a NUL ends the file early, as a C string */
  root = stub_config_read(text);
  free(text);
  if (root == NULL || has_exploding_regex(root)) {
    stub_config_free(root);
    return -1; /* not a config collectd would read: not in the corpus */
  }

  stub_set_interval(TIME_T_TO_CDTIME_T(10));
  for (int i = 0; i < root->children_num; i++) {
    oconfig_item_t *ci = &root->children[i];
    if (strcasecmp(ci->key, "Interval") == 0 && ci->values_num == 1 &&
        ci->values[0].type == OCONFIG_TYPE_NUMBER &&
        ci->values[0].value.number > 0 &&
        ci->values[0].value.number < 86400.0 * 365)
      stub_set_interval(DOUBLE_TO_CDTIME_T(ci->values[0].value.number));
  }
  for (int i = 0; i < root->children_num; i++)
    if (strcasecmp(root->children[i].key, "Plugin") == 0 &&
        stub_config(&root->children[i]) != 0)
      failed++;
  /* The daemon stops on a failed configuration; otherwise it runs the
   * inits (which may unregister reads), and at shutdown the shutdown
   * callbacks, then frees every callback's user data. */
  if (failed == 0) {
    stub_init_all();
    stub_shutdown_all();
  }
  stub_free_registered();
  stub_config_free(root);
  stub_log_clear(); /* every line was formatted: its arguments were read */
  return 0;
}
