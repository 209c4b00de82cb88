/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the configuration of both plugins, from the block
 * collectd hands the config callback to the init callbacks and the free
 * functions of what was registered, as the daemon runs them.
 *
 * The input is a collectd.conf in the syntax collectd's liboconfig reads
 * (a subset: no includes, no line continuations): `Key value ...` lines
 * and `<Key value ...>` ... `</Key>` blocks, nested at most 3 deep; values
 * are "quoted strings" (a backslash takes the next byte as is), numbers
 * as collectd's scanner knows them (decimal, hexadecimal, octal, decimal
 * fractions with an exponent), true/yes/on and false/no/off, and other
 * bare words as strings. Every <Plugin NAME> block goes to the config
 * callback registered under NAME; a top-level Interval sets the global
 * interval. Input this reader refuses is skipped.
 *
 * The plugins must not crash, leak or hit undefined behaviour whatever
 * the configuration; nothing may start a thread or touch the network:
 * no read, write or flush callback is called, and the environment leaves
 * the AWS code nothing to ask (no instance metadata, no credential
 * files).
 */
#include "collectd_stubs.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>

/* Blocks nest 3 deep: <Plugin>, <Runtime>, and one where an option goes. */
#define MAX_DEPTH 3
#define MAX_ITEMS 512 /* in one input */
#define MAX_VALUES 16 /* on one line */

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
    if (ci->values_num >= MAX_VALUES)
      return false;
    if (ci->values == NULL) {
      ci->values = calloc(MAX_VALUES, sizeof(*ci->values));
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
    if (++r->items > MAX_ITEMS || (block && depth + 1 > MAX_DEPTH))
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
  static const char *const unset[] = {"AWS_DEFAULT_REGION",
                                      "AWS_PROFILE",
                                      "AWS_ACCESS_KEY_ID",
                                      "AWS_SECRET_ACCESS_KEY",
                                      "AWS_SESSION_TOKEN",
                                      "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                                      "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                                      "AWS_WEB_IDENTITY_TOKEN_FILE"};

  (void)argc;
  (void)argv;
  /* Nothing to ask: no instance metadata, no credential files, and an
   * endpoint where nothing listens should anything try. A region, so
   * that a block without Region gets past region discovery. */
  setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
  setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9", 1);
  setenv("AWS_CONFIG_FILE", "/nonexistent/aws/config", 1);
  setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws/credentials", 1);
  setenv("HOME", "/nonexistent", 1);
  setenv("AWS_REGION", "us-east-1", 1);
  for (size_t i = 0; i < sizeof(unset) / sizeof(unset[0]); i++)
    unsetenv(unset[i]);

  sagemaker_async_module_register();
  write_cloudwatch_module_register();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  oconfig_item_t root = {0};
  reader_t r;
  bool ok;
  int failed = 0;

  if (text == NULL)
    return 0;
  memcpy(text, data, size);
  text[size] = 0; /* a NUL ends the file early, as a C string */
  r.p = text;
  r.items = 0;
  ok = read_block(&r, &root, 0);
  free(text);
  if (!ok || has_exploding_regex(&root)) {
    item_free(&root);
    return -1; /* not a config collectd would read: not in the corpus */
  }
  set_parents(&root);

  stub_set_interval(TIME_T_TO_CDTIME_T(10));
  for (int i = 0; i < root.children_num; i++) {
    oconfig_item_t *ci = &root.children[i];
    if (strcasecmp(ci->key, "Interval") == 0 && ci->values_num == 1 &&
        ci->values[0].type == OCONFIG_TYPE_NUMBER &&
        ci->values[0].value.number > 0 &&
        ci->values[0].value.number < 86400.0 * 365)
      stub_set_interval(DOUBLE_TO_CDTIME_T(ci->values[0].value.number));
  }
  for (int i = 0; i < root.children_num; i++)
    if (strcasecmp(root.children[i].key, "Plugin") == 0 &&
        stub_config(&root.children[i]) != 0)
      failed++;
  /* The daemon stops on a failed configuration; otherwise it runs the
   * inits (which may unregister reads), and at shutdown the shutdown
   * callbacks, then frees every callback's user data. */
  if (failed == 0) {
    stub_init_all();
    stub_shutdown_all();
  }
  stub_free_registered();
  item_free(&root);
  return 0;
}
