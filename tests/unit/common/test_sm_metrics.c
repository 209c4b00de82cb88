/* SPDX-License-Identifier: MIT */
/*
 * The metric table against the reference metrics.tsv (tests/data, a copy
 * of the SageMaker reference list): every name, unit, dimension set and
 * statistic list, nothing more, nothing less.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sm_metrics.h"
#include "tap.h"

static const char *dims_name(sm_dims_t d) {
  return d == SM_DIMS_ENDPOINT ? "EndpointName" : "EndpointName,VariantName";
}

int main(void) {
  const char *srcdir = getenv("SM_SRCDIR");
  char path[4096];
  char line[1024];
  FILE *f;
  size_t rows = 0;
  int seen[64] = {0};

  snprintf(path, sizeof(path), "%s/tests/data/metrics.tsv",
           srcdir ? srcdir : ".");
  f = fopen(path, "r");
  if (!T_OK(f != NULL, "open %s", path))
    return t_done();

  while (fgets(line, sizeof(line), f) != NULL) {
    char *fields[5] = {0};
    char *save = NULL;
    char *p = line;
    int n = 0;
    const sm_metric_t *m;

    if (line[0] == '#' || line[0] == '\n')
      continue;
    line[strcspn(line, "\n")] = 0;
    /* Split on tabs by hand: strtok is banned, and the fields are few. */
    while (n < 5 && p != NULL) {
      fields[n++] = p;
      save = strchr(p, '\t');
      if (save != NULL)
        *save++ = 0;
      p = save;
    }
    if (!T_OK(n == 5, "row %zu has 5 fields", rows + 1))
      continue;
    rows++;
    m = sm_metrics_find(fields[0]);
    if (!T_OK(m != NULL, "%s is in the table", fields[0]))
      continue;
    seen[m - sm_metrics] = 1;
    T_EQ_STR(m->unit, fields[1], "unit");
    T_EQ_STR(dims_name(m->dims), fields[2], "dimensions");
    T_EQ_STR(m->statistics, fields[3], "statistics");
    T_OK(sm_metrics_by_index(m->kind, m->index) == m,
         "%s: kind and index lead back to it", m->name);
    /* Unit and kind agree: timings are statistic sets, counts are counts. */
    if (strcmp(m->unit, "Microseconds") == 0 ||
        strcmp(m->unit, "Milliseconds") == 0 || strcmp(m->unit, "None") == 0)
      T_OK(m->kind == SM_KIND_STATS, "%s is a statistic set", m->name);
    else if (strcmp(m->statistics, "Sum") == 0)
      T_OK(m->kind == SM_KIND_COUNT, "%s is a count", m->name);
    else
      T_OK(m->kind == SM_KIND_GAUGE, "%s is a gauge", m->name);
  }
  fclose(f);

  T_EQ_INT(rows, sm_metrics_num, "as many rows as table entries");
  for (size_t i = 0; i < sm_metrics_num; i++)
    T_OK(seen[i], "%s is in metrics.tsv", sm_metrics[i].name);
  T_OK(sm_metrics_find("InvocationsProcessed") == NULL,
       "the name keeps its three s");
  for (size_t i = 0; i < sm_metrics_never_async_num; i++)
    T_OK(sm_metrics_find(sm_metrics_never_async[i]) == NULL,
         "%s is never published", sm_metrics_never_async[i]);
  T_OK(sm_metrics_by_index(SM_KIND_GAUGE, SM_G_NUM) == NULL,
       "out of range index");
  return t_done();
}
