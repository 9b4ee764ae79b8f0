/* Classification metrics against values worked out by hand. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "porta/porta.h"

static int failures = 0;

static void expect(const char *what, double got, double want) {
  bool ok = fabs(got - want) < 1e-9;
  printf("%-28s %.6f (expected %.6f)%s\n", what, got, want, ok ? "" : "  FAIL");
  if (!ok) failures++;
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0); // lines reach the log even if a sanitizer ends the process
  // binary: TP 3, FN 1, FP 2, TN 2 (+ one row with label -1, ignored)
  int32_t labels[9] = {1, 1, 1, 0, 0, 0, 1, 0, -1};
  int32_t preds[9] = {1, 0, 1, 0, 1, 1, 1, 0, 1};
  porta_metrics m;
  porta_metrics_compute(&m, labels, preds, 9, 2);
  expect("binary count", (double)m.count, 8);
  expect("binary accuracy", m.accuracy, 5.0 / 8.0);
  expect("binary precision (class 1)", m.precision, 3.0 / 5.0);
  expect("binary recall (class 1)", m.recall, 3.0 / 4.0);
  expect("binary f1 (class 1)", m.f1, 2 * 0.6 * 0.75 / (0.6 + 0.75));
  expect("confusion[0][1] (FP)", (double)m.confusion[0 * 2 + 1], 2);
  expect("confusion[1][0] (FN)", (double)m.confusion[1 * 2 + 0], 1);
  char json[512];
  porta_metrics_json(&m, json, sizeof json);
  printf("%s\n", json);
  if (!strstr(json, "\"confusion\": [[2, 2], [1, 3]]") || !strstr(json, "\"accuracy\": 0.625000")) {
    printf("FAIL json\n");
    failures++;
  }

  // three classes, macro averages: per class P = 1/2, 2/3, 1; R = 1/2, 1, 1/2; F1 = 1/2, 4/5, 2/3
  int32_t labels3[6] = {0, 0, 1, 1, 2, 2};
  int32_t preds3[6] = {0, 1, 1, 1, 2, 0};
  porta_metrics_compute(&m, labels3, preds3, 6, 3);
  expect("3-class accuracy", m.accuracy, 4.0 / 6.0);
  expect("3-class macro precision", m.precision, (0.5 + 2.0 / 3.0 + 1.0) / 3.0);
  expect("3-class macro recall", m.recall, (0.5 + 1.0 + 0.5) / 3.0);
  expect("3-class macro f1", m.f1, (0.5 + 0.8 + 2.0 / 3.0) / 3.0);

  // a class never predicted: precision 0, F1 0 (no division by zero)
  int32_t labels0[4] = {1, 1, 0, 0};
  int32_t preds0[4] = {0, 0, 0, 0};
  porta_metrics_compute(&m, labels0, preds0, 4, 2);
  expect("never predicted: accuracy", m.accuracy, 0.5);
  expect("never predicted: precision", m.precision, 0.0);
  expect("never predicted: f1", m.f1, 0.0);

  if (porta_metrics_compute(&m, labels0, preds0, 4, PORTA_MAX_CLASSES + 1) !=
      PORTA_ERR_INVALID_ARGUMENT) {
    printf("FAIL: too many classes accepted\n");
    failures++;
  }
  if (failures) {
    printf("%d check(s) failed\n", failures);
    return 1;
  }
  printf("test_metrics: all checks passed\n");
  return 0;
}
