/* Inference over tokenised rows: probabilities, predictions, metrics and loss. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h" /* porta_fail: messages in porta_last_error(ctx) */
#include "train/train_internal.h"

porta_status porta_classify_rows(float *probs, int32_t *predictions, porta_metrics *metrics,
                                 double *mean_loss, porta_model *model, porta_head *head,
                                 const porta_encoded_rows *enc, const int64_t *rows, int64_t count,
                                 int batch_size) {
  porta_context *ctx = porta_model_context(model);
  int C = porta_head_num_labels(head);
  if (batch_size <= 0) batch_size = 32;
  // the confusion matrix holds at most PORTA_MAX_CLASSES classes: say so before any work
  if (metrics && (C < 1 || C > PORTA_MAX_CLASSES))
    return porta_fail(
        ctx, PORTA_ERR_LIMIT,
        "metrics: the head has %d labels, at most %d fit the metrics' confusion matrix "
        "(predictions and probabilities still work without metrics)",
        C, PORTA_MAX_CLASSES);
  int64_t *all = NULL;
  if (!rows) {
    all = malloc((size_t)(count ? count : 1) * sizeof(int64_t));
    if (!all)
      return porta_fail(ctx, PORTA_ERR_OUT_OF_MEMORY, "out of memory classifying %lld rows",
                        (long long)count);
    for (int64_t i = 0; i < count; i++) all[i] = i;
    rows = all;
  }
  // sort by length (least padding); results go back to each row's position
  int32_t *lengths = malloc((size_t)(count ? count : 1) * sizeof(int32_t));
  int32_t *ids = malloc((size_t)batch_size * enc->max_length * sizeof(int32_t));
  int32_t *mask = malloc((size_t)batch_size * enc->max_length * sizeof(int32_t));
  int32_t *labels = malloc((size_t)batch_size * sizeof(int32_t));
  int64_t *batch_rows = malloc((size_t)batch_size * sizeof(int64_t));
  float *logits = malloc((size_t)batch_size * C * sizeof(float));
  int32_t *preds = malloc((size_t)(count ? count : 1) * sizeof(int32_t));
  int32_t *truth = malloc((size_t)(count ? count : 1) * sizeof(int32_t));
  porta_epoch_plan plan = {0};
  porta_status st = PORTA_OK;
  if (!lengths || !ids || !mask || !labels || !batch_rows || !logits || !preds || !truth)
    st = porta_fail(ctx, PORTA_ERR_OUT_OF_MEMORY,
                    "out of memory classifying %lld rows in batches of %d", (long long)count,
                    batch_size);
  if (st == PORTA_OK) {
    for (int64_t i = 0; i < count; i++) lengths[i] = enc->lengths[rows[i]];
    st = porta_epoch_plan_make(&plan, lengths, count, batch_size, PORTA_ORDER_BY_LENGTH, 0, 0, 0);
  }
  bool was_training = porta_is_training(ctx);
  porta_set_training(ctx, false);
  porta_no_grad_begin(ctx);
  double loss_sum = 0;
  int64_t loss_rows = 0;
  for (int64_t b = 0; st == PORTA_OK && b < plan.num_batches; b++) {
    int64_t start = plan.batch_start[b];
    int n = (int)(plan.batch_start[b + 1] - start);
    for (int i = 0; i < n; i++) batch_rows[i] = rows[plan.rows[start + i]];
    int seq_len;
    porta_batch_fill(ids, mask, labels, &seq_len, enc, batch_rows, n);
    porta_model_input in = {ids, mask, NULL, NULL, n, seq_len};
    porta_model_output out;
    st = porta_model_classify(&out, model, head, &in, NULL);
    if (st == PORTA_OK) st = porta_tensor_download(out.logits, logits, (size_t)n * C);
    porta_release_temporaries(ctx);
    if (st != PORTA_OK) break;
    // softmax and cross-entropy on the host: [n, C] is tiny
    for (int i = 0; i < n; i++) {
      const float *z = logits + (size_t)i * C;
      int best = 0;
      double maxz = z[0];
      for (int c = 1; c < C; c++)
        if (z[c] > z[best]) best = c, maxz = z[c];
      double sum = 0;
      for (int c = 0; c < C; c++) sum += exp(z[c] - maxz);
      int64_t pos = plan.rows[start + i];
      if (probs)
        for (int c = 0; c < C; c++) probs[pos * C + c] = (float)(exp(z[c] - maxz) / sum);
      preds[pos] = best;
      truth[pos] = labels[i];
      if (labels[i] >= 0 && labels[i] < C) {
        loss_sum += -(z[labels[i]] - maxz - log(sum));
        loss_rows++;
      }
    }
  }
  porta_no_grad_end(ctx);
  porta_set_training(ctx, was_training);
  if (st == PORTA_OK) {
    if (predictions) memcpy(predictions, preds, (size_t)count * sizeof(int32_t));
    if (metrics) {
      st = porta_metrics_compute(metrics, truth, preds, count, C);
      metrics->loss = loss_rows ? loss_sum / (double)loss_rows : 0;
    }
    if (mean_loss) *mean_loss = loss_rows ? loss_sum / (double)loss_rows : 0;
  }
  porta_epoch_plan_free(&plan);
  free(all), free(lengths), free(ids), free(mask), free(labels), free(batch_rows), free(logits),
      free(preds), free(truth);
  return st;
}
