/* Saving body + head as a Hub-style folder: config.json, model.safetensors (Hub names, so
 * transformers' AutoModel / AutoModelForSequenceClassification load it) and the source folder's
 * tokenizer files. Every file goes through core/file_atomic.h (temporary, fsync, rename). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file_atomic.h"
#include "model/bert_internal.h"

static const char *const tokenizer_files[] = {
    "vocab.txt",  "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
    "vocab.json", "merges.txt",     "added_tokens.json",     "sentencepiece.bpe.model",
};

/* Copies src to dst (durably, core/file_atomic.h). A missing src is not an error. */
static porta_status copy_file(porta_context *ctx, const char *src, const char *dst) {
  char err[1024];
  porta_status st = porta_copy_file_atomic(src, dst, err, sizeof err);
  if (st == PORTA_ERR_NOT_FOUND) return PORTA_OK;
  if (st != PORTA_OK) return porta_nn_fail(ctx, st, "porta_model_save: %s", err);
  return PORTA_OK;
}

static bool same_dir(const char *a, const char *b) {
  struct stat sa, sb;
  return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static porta_status save_config(const porta_model *m, const porta_head *h,
                                const char *const *label_names, const char *dir) {
  char err[1024];
  porta_model_config cfg;
  memset(&cfg, 0, sizeof cfg);
  porta_status st = porta_config_copy(&cfg, &m->cfg, err, sizeof err);
  if (st != PORTA_OK) return porta_nn_fail(m->ctx, st, "porta_model_save: %s", err);
  /* The transformers class that computes what the head computes: only the pooler heads have one
   * (BertForSequenceClassification = pooler + classifier; RoBERTa's RobertaClassificationHead).
   * cls / mean heads are saved as the bare body class: naming them ...ForSequenceClassification
   * would make transformers run the pooler before the classifier and predict something else.
   * Their classifier.* tensors stay in the file and "porta_head" says how to apply them. */
  const char *type = m->cfg.model_type;
  bool roberta_head = h && h->roberta_style;
  bool bert_pooler_head = h && !h->roberta_style && h->kind == PORTA_HEAD_POOLER;
  const char *arch = bert_pooler_head ? "BertForSequenceClassification" : "BertModel";
  if (!strcmp(type, "xlm-roberta"))
    arch = roberta_head ? "XLMRobertaForSequenceClassification" : "XLMRobertaModel";
  else if (!strcmp(type, "camembert"))
    arch = roberta_head ? "CamembertForSequenceClassification" : "CamembertModel";
  else if (m->family == PORTA_MODEL_ROBERTA)
    arch = roberta_head ? "RobertaForSequenceClassification" : "RobertaModel";
  snprintf(cfg.architecture, sizeof cfg.architecture, "%s", arch);
  if (h) st = porta_config_set_labels(&cfg, h->num_labels, label_names, err, sizeof err);
  char extra[128];
  snprintf(extra, sizeof extra, "{\"porta_head\": \"%s\"}",
           h ? porta_head_kind_name(h->kind) : "none");
  if (st == PORTA_OK) st = porta_config_save(&cfg, dir, extra, err, sizeof err);
  porta_config_free(&cfg);
  if (st != PORTA_OK) return porta_nn_fail(m->ctx, st, "porta_model_save: %s", err);
  return PORTA_OK;
}

porta_status porta_model_save(const porta_model *m, const porta_head *h,
                              const char *const *label_names, const char *dir) {
  if (!m) return PORTA_ERR_INVALID_ARGUMENT;
  porta_context *ctx = m->ctx;
  if (!dir) return porta_nn_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "porta_model_save: dir is NULL");
  if (h && h->model != m)
    return porta_nn_fail(ctx, PORTA_ERR_INVALID_ARGUMENT,
                         "porta_model_save: the head was created on another model");
  if (mkdir(dir, 0755) != 0 && errno != EEXIST)
    return porta_nn_fail(ctx, PORTA_ERR_IO, "porta_model_save: cannot create %s: %s", dir,
                         strerror(errno));

  int count = 0;
  porta_status st = porta_model_parameters(m, h, NULL, 0, &count);
  if (st != PORTA_OK) return st;
  porta_param *params = calloc((size_t)count, sizeof *params);
  porta_named_array *arrays = calloc((size_t)count, sizeof *arrays);
  float **data = calloc((size_t)count, sizeof *data);
  if (!params || !arrays || !data) {
    st = porta_nn_fail(ctx, PORTA_ERR_OUT_OF_MEMORY, "porta_model_save: out of memory");
    goto done;
  }
  st = porta_model_parameters(m, h, params, count, &count);
  for (int i = 0; st == PORTA_OK && i < count; i++) {
    porta_tensor *t = params[i].tensor;
    int64_t n = porta_tensor_numel(t);
    data[i] = malloc((size_t)n * sizeof(float));
    if (!data[i]) {
      st = porta_nn_fail(ctx, PORTA_ERR_OUT_OF_MEMORY, "porta_model_save: out of memory for %s",
                         params[i].name);
      break;
    }
    st = porta_tensor_download(t, data[i], (size_t)n);
    arrays[i].name = params[i].name;
    arrays[i].ndim = porta_tensor_ndim(t);
    for (int k = 0; k < arrays[i].ndim; k++) arrays[i].shape[k] = porta_tensor_dim(t, k);
    arrays[i].data = data[i];
  }
  if (st == PORTA_OK) {
    char path[4200], err[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    st = porta_safetensors_write(path, arrays, count,
                                 "{\"format\": \"pt\", \"saved_by\": \"porta\"}", err, sizeof err);
    if (st != PORTA_OK) porta_nn_fail(ctx, st, "porta_model_save: %s", err);
  }
  if (st == PORTA_OK) st = save_config(m, h, label_names, dir);
  if (st == PORTA_OK && m->source_dir[0] && !same_dir(m->source_dir, dir)) {
    int n_files = (int)(sizeof tokenizer_files / sizeof tokenizer_files[0]);
    for (int i = 0; st == PORTA_OK && i < n_files; i++) {
      char src[4200], dst[4200];
      snprintf(src, sizeof src, "%s/%s", m->source_dir, tokenizer_files[i]);
      snprintf(dst, sizeof dst, "%s/%s", dir, tokenizer_files[i]);
      st = copy_file(ctx, src, dst);
    }
  }
  if (st == PORTA_OK) { // the folder's own entry (each file's is synced by its commit)
    char err[1024];
    st = porta_fsync_parent(dir, err, sizeof err);
    if (st != PORTA_OK) porta_nn_fail(ctx, st, "porta_model_save: %s", err);
  }
done:
  for (int i = 0; data && i < count; i++) free(data[i]);
  free(data);
  free(arrays);
  free(params);
  return st;
}
