/* Classification metrics from a confusion matrix. Binary: the positive class is 1. More classes:
 * macro averages over classes. */
#include <string.h>

#include "train/train_internal.h"

porta_status porta_metrics_compute(porta_metrics *out, const int32_t *labels,
                                   const int32_t *predictions, int64_t count, int num_classes) {
  memset(out, 0, sizeof *out);
  if (num_classes < 1 || num_classes > PORTA_MAX_CLASSES) return PORTA_ERR_INVALID_ARGUMENT;
  out->num_classes = num_classes;
  for (int64_t i = 0; i < count; i++) {
    int32_t y = labels[i], p = predictions[i];
    if (y < 0 || y >= num_classes || p < 0 || p >= num_classes) continue;
    out->confusion[y * num_classes + p]++;
  }
  porta_metrics_finish(out);
  return PORTA_OK;
}

static double ratio(double num, double den) { return den > 0 ? num / den : 0.0; }

void porta_metrics_finish(porta_metrics *m) {
  int C = m->num_classes;
  int64_t total = 0, correct = 0;
  for (int y = 0; y < C; y++)
    for (int p = 0; p < C; p++) {
      total += m->confusion[y * C + p];
      if (y == p) correct += m->confusion[y * C + p];
    }
  m->count = total;
  m->accuracy = ratio((double)correct, (double)total);
  // per-class precision / recall / F1 from the confusion matrix
  double sum_p = 0, sum_r = 0, sum_f = 0;
  double p1 = 0, r1 = 0, f1 = 0;
  for (int c = 0; c < C; c++) {
    int64_t tp = m->confusion[c * C + c], predicted = 0, actual = 0;
    for (int k = 0; k < C; k++) {
      predicted += m->confusion[k * C + c];
      actual += m->confusion[c * C + k];
    }
    double precision = ratio((double)tp, (double)predicted);
    double recall = ratio((double)tp, (double)actual);
    double f = ratio(2 * precision * recall, precision + recall);
    sum_p += precision, sum_r += recall, sum_f += f;
    if (c == 1) p1 = precision, r1 = recall, f1 = f;
  }
  if (C == 2) {
    m->precision = p1, m->recall = r1, m->f1 = f1;
  } else {
    m->precision = sum_p / C, m->recall = sum_r / C, m->f1 = sum_f / C;
  }
}

int porta_metrics_json(const porta_metrics *m, char *buf, size_t size) {
  int C = m->num_classes;
  size_t used = 0;
  int n = snprintf(
      buf, size,
      "{\"accuracy\": %.6f, \"precision\": %.6f, \"recall\": %.6f, \"f1\": %.6f, \"confusion\": [",
      m->accuracy, m->precision, m->recall, m->f1);
  used += (size_t)n;
  for (int y = 0; y < C; y++) {
    n = snprintf(used < size ? buf + used : NULL, used < size ? size - used : 0, "%s[",
                 y ? ", " : "");
    used += (size_t)n;
    for (int p = 0; p < C; p++) {
      n = snprintf(used < size ? buf + used : NULL, used < size ? size - used : 0, "%s%lld",
                   p ? ", " : "", (long long)m->confusion[y * C + p]);
      used += (size_t)n;
    }
    n = snprintf(used < size ? buf + used : NULL, used < size ? size - used : 0, "]");
    used += (size_t)n;
  }
  n = snprintf(used < size ? buf + used : NULL, used < size ? size - used : 0, "]}");
  used += (size_t)n;
  return (int)used;
}
