/* Tokenise every row once, and pack rows into padded host batches. */
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"

porta_status porta_encode_texts(porta_encoded_rows *out, const porta_tokenizer *tok,
                                const char *const *texts, const int32_t *labels, int64_t count,
                                int max_length, char *err, size_t err_size) {
  memset(out, 0, sizeof *out);
  if (max_length <= 0) max_length = porta_tokenizer_model_max_length(tok);
  if (max_length <= 0 || max_length > 8192) max_length = 512; // unbounded tokenizers
  if (max_length < 2)
    return porta_train_fail(err, err_size, PORTA_ERR_INVALID_ARGUMENT,
                            "max length %d leaves no room for a token", max_length);
  out->max_length = max_length;
  out->pad_id = porta_tokenizer_pad_id(tok);
  if (out->pad_id < 0) out->pad_id = 0;
  out->offsets = malloc((size_t)(count + 1) * sizeof(int64_t));
  out->lengths = malloc((size_t)(count ? count : 1) * sizeof(int32_t));
  out->labels = malloc((size_t)(count ? count : 1) * sizeof(int32_t));
  int64_t capacity = count * 24 + max_length; // grows when texts are long
  out->ids = malloc((size_t)capacity * sizeof(int32_t));
  if (!out->offsets || !out->lengths || !out->labels || !out->ids) {
    porta_encoded_rows_free(out);
    return porta_train_fail(err, err_size, PORTA_ERR_OUT_OF_MEMORY,
                            "out of memory tokenising %lld rows", (long long)count);
  }
  out->offsets[0] = 0;
  for (int64_t i = 0; i < count; i++) {
    int64_t used = out->offsets[i];
    if (used + max_length > capacity) {
      int64_t bigger = capacity * 2 + max_length;
      int32_t *grown = realloc(out->ids, (size_t)bigger * sizeof(int32_t));
      if (!grown) {
        porta_encoded_rows_free(out);
        return porta_train_fail(err, err_size, PORTA_ERR_OUT_OF_MEMORY,
                                "out of memory tokenising %lld rows", (long long)count);
      }
      out->ids = grown;
      capacity = bigger;
    }
    int n = 0;
    char msg[256] = "";
    porta_status st = porta_tokenizer_encode(tok, out->ids + used, max_length, &n, texts[i],
                                             strlen(texts[i]), max_length, msg, sizeof msg);
    if (st != PORTA_OK) {
      porta_encoded_rows_free(out);
      return porta_train_fail(err, err_size, st, "tokenising row %lld (\"%.60s\"): %s",
                              (long long)i, texts[i], msg);
    }
    out->lengths[i] = n;
    out->labels[i] = labels ? labels[i] : -1;
    out->offsets[i + 1] = used + n;
    out->count = i + 1;
  }
  return PORTA_OK;
}

void porta_encoded_rows_free(porta_encoded_rows *rows) {
  free(rows->ids);
  free(rows->offsets);
  free(rows->lengths);
  free(rows->labels);
  memset(rows, 0, sizeof *rows);
}

void porta_batch_fill(int32_t *ids, int32_t *mask, int32_t *labels, int *seq_len,
                      const porta_encoded_rows *enc, const int64_t *rows, int batch) {
  porta_batch_fill_padded(ids, mask, labels, seq_len, enc, rows, batch, 1);
}

void porta_batch_fill_padded(int32_t *ids, int32_t *mask, int32_t *labels, int *seq_len,
                             const porta_encoded_rows *enc, const int64_t *rows, int batch,
                             int pad_to) {
  int longest = pad_to > 1 ? pad_to : 1;
  for (int b = 0; b < batch; b++)
    if (enc->lengths[rows[b]] > longest) longest = enc->lengths[rows[b]];
  // ids / mask [batch, longest]: the row's ids, then padding
  for (int b = 0; b < batch; b++) {
    int64_t row = rows[b];
    int n = enc->lengths[row];
    const int32_t *src = enc->ids + enc->offsets[row];
    for (int t = 0; t < longest; t++) {
      ids[b * longest + t] = t < n ? src[t] : enc->pad_id;
      mask[b * longest + t] = t < n ? 1 : 0;
    }
    if (labels) labels[b] = enc->labels[row];
  }
  *seq_len = longest;
}
