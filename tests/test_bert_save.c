/* porta_model_save → porta_model_load gives the same outputs: the tiny BERT with the pooler head
 * and the tiny RoBERTa with the cls head, after one SGD step so the saved weights differ from the
 * source. Checks the folder's files (config.json with num_labels / id2label, model.safetensors
 * with Hub names, tokenizer files copied) and writes porta's outputs beside each folder
 * (<build>/test_bert_save/<name>_outputs.safetensors) for tools/check_roundtrip.py, which loads
 * the folder with transformers and compares (run by hand: CI has no torch). CPU backend. */
#include <errno.h>
#include <sys/stat.h>

#include "test_bert_util.h"

#define OUT_DIR PORTA_BINARY_DIR "/test_bert_save"

typedef struct outputs {
  float *hidden, *logits;
  int64_t n_hidden, n_logits;
} outputs;

static porta_status forward(outputs *o, porta_model *model, porta_head *head,
                            const porta_model_input *in) {
  porta_context *ctx = porta_model_context(model);
  porta_model_output out;
  porta_status st = porta_model_classify(&out, model, head, in, NULL);
  if (st != PORTA_OK) return st;
  o->n_hidden = porta_tensor_numel(out.last_hidden_state);
  o->n_logits = porta_tensor_numel(out.logits);
  o->hidden = malloc((size_t)o->n_hidden * sizeof(float));
  o->logits = malloc((size_t)o->n_logits * sizeof(float));
  st = porta_tensor_download(out.last_hidden_state, o->hidden, (size_t)o->n_hidden);
  if (st == PORTA_OK) st = porta_tensor_download(out.logits, o->logits, (size_t)o->n_logits);
  porta_release_temporaries(ctx);
  return st;
}

static bool file_exists(const char *dir, const char *name) {
  char path[2048];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return stat(path, &st) == 0 && st.st_size > 0;
}

/* Input ids etc. as f32 arrays (exact for these small integers) + porta's outputs. */
static porta_status write_outputs(const char *path, const porta_model_input *in, const outputs *o,
                                  int64_t hidden) {
  int64_t n = (int64_t)in->batch * in->seq_len;
  float *f = malloc((size_t)n * 3 * sizeof *f);
  for (int64_t i = 0; i < n; i++) {
    f[i] = (float)in->input_ids[i];
    f[n + i] = (float)in->attention_mask[i];
    f[2 * n + i] = (float)in->token_type_ids[i];
  }
  porta_named_array arrays[5] = {
      {"input_ids", 2, {in->batch, in->seq_len}, f},
      {"attention_mask", 2, {in->batch, in->seq_len}, f + n},
      {"token_type_ids", 2, {in->batch, in->seq_len}, f + 2 * n},
      {"last_hidden_state", 3, {in->batch, in->seq_len, hidden}, o->hidden},
      {"logits", 2, {in->batch, o->n_logits / in->batch}, o->logits},
  };
  char err[512];
  porta_status st = porta_safetensors_write(path, arrays, 5, NULL, err, sizeof err);
  if (st != PORTA_OK) printf("FAIL writing %s: %s\n", path, err);
  free(f);
  return st;
}

static int run(porta_context *ctx, const char *name, porta_head_kind kind, bool head_in_fixture) {
  char src[1024], fx_path[1024], dst[1024], outputs_path[1024];
  snprintf(src, sizeof src, "%s/bert/%s", PORTA_TEST_DATA, name);
  snprintf(fx_path, sizeof fx_path, "%s/bert/%s_expected.safetensors", PORTA_TEST_DATA, name);
  snprintf(dst, sizeof dst, "%s/%s_%s", OUT_DIR, name, porta_head_kind_name(kind));
  snprintf(outputs_path, sizeof outputs_path, "%s/%s_%s_outputs.safetensors", OUT_DIR, name,
           porta_head_kind_name(kind));
  char err[512];
  int fails = 0;
  porta_weights *fx = NULL;
  porta_model *model = NULL, *loaded = NULL;
  porta_head *head = NULL, *loaded_head = NULL;
  porta_optimizer *sgd = NULL;
  porta_param *params = NULL;
  outputs before = {0}, after = {0};
  if (porta_weights_open(&fx, fx_path, err, sizeof err) != PORTA_OK) {
    printf("FAIL %s: %s\n", name, err);
    return 1;
  }
  int64_t n = 0;
  int32_t *ids = fx_i32(fx, "input_ids", &n), *mask = fx_i32(fx, "attention_mask", NULL);
  int32_t *types = fx_i32(fx, "token_type_ids", NULL), *labels = fx_i32(fx, "labels", NULL);
  porta_model_input in = {ids, mask, types, labels, 3, (int)(n / 3)};
  porta_head_options ho;
  porta_head_options_init(&ho);
  ho.kind = kind;
  ho.num_labels = 3;
  ho.seed = 11;
  porta_status st = porta_model_load(&model, ctx, src);
  if (st == PORTA_OK) st = porta_head_create(&head, model, &ho);
  int count = 0;
  if (st == PORTA_OK) st = porta_model_parameters(model, head, NULL, 0, &count);
  params = calloc((size_t)count, sizeof *params);
  if (st == PORTA_OK) st = porta_model_parameters(model, head, params, count, &count);
  if (st == PORTA_OK && head_in_fixture) {
    float *w = fx_f32(fx, "classifier.weight", NULL), *b = fx_f32(fx, "classifier.bias", NULL);
    st = porta_tensor_upload(params[count - 2].tensor, w, 3 * 32);
    if (st == PORTA_OK) st = porta_tensor_upload(params[count - 1].tensor, b, 3);
    free(w);
    free(b);
  }
  /* one SGD step so every saved tensor differs from the source folder's */
  porta_tensor **tensors = calloc((size_t)count, sizeof *tensors);
  for (int i = 0; i < count; i++) tensors[i] = params[i].tensor;
  if (st == PORTA_OK) st = porta_sgd_create(&sgd, ctx, tensors, count, 0.5f, 0.0f, 0.0f);
  porta_model_output out;
  if (st == PORTA_OK) st = porta_model_classify(&out, model, head, &in, NULL);
  if (st == PORTA_OK) st = porta_backward(out.loss);
  if (st == PORTA_OK) st = porta_optimizer_step(sgd, 0.5f);
  porta_release_temporaries(ctx);
  free(tensors);
  if (st == PORTA_OK) st = forward(&before, model, head, &in);
  const char *label_names[3] = {"negative", "neutral", "positive"};
  mkdir(OUT_DIR, 0755);
  if (st == PORTA_OK) st = porta_model_save(model, head, label_names, dst);
  if (st != PORTA_OK) {
    printf("FAIL %s: %s\n", name, porta_last_error(ctx));
    fails++;
    goto done;
  }
  printf("ok   %s: saved %s\n", name, dst);

  bool roberta = strstr(name, "roberta") != NULL; /* its folder has no tokenizer files */
  const char *files[4] = {"config.json", "model.safetensors", roberta ? "config.json" : "vocab.txt",
                          roberta ? "config.json" : "tokenizer_config.json"};
  for (int i = 0; i < 4; i++) {
    if (!file_exists(dst, files[i])) {
      printf("FAIL %s: %s/%s is missing\n", name, dst, files[i]);
      fails++;
    }
  }
  porta_model_config cfg;
  memset(&cfg, 0, sizeof cfg);
  st = porta_config_load(&cfg, dst, err, sizeof err);
  bool labels_ok =
      st == PORTA_OK && cfg.num_labels == 3 && cfg.id2label && !strcmp(cfg.id2label[2], "positive");
  printf("%s %s: config.json num_labels %d, id2label[2] %s\n", labels_ok ? "ok  " : "FAIL", name,
         cfg.num_labels, cfg.id2label ? cfg.id2label[2] : "(none)");
  fails += !labels_ok;
  porta_config_free(&cfg);

  porta_weights *saved = NULL;
  st = porta_weights_open(&saved, dst, err, sizeof err);
  if (st == PORTA_OK) {
    const char *prefix = roberta ? "roberta." : "bert.";
    const char *head_name =
        roberta && kind == PORTA_HEAD_POOLER ? "classifier.out_proj.weight" : "classifier.weight";
    char want[128];
    snprintf(want, sizeof want, "%sencoder.layer.1.output.dense.weight", prefix);
    bool names_ok = porta_weights_count(saved) == count && porta_weights_find(saved, want) >= 0 &&
                    porta_weights_find(saved, head_name) >= 0;
    printf("%s %s: model.safetensors has %d tensors (want %d) with Hub names\n",
           names_ok ? "ok  " : "FAIL", name, porta_weights_count(saved), count);
    fails += !names_ok;
    porta_weights_close(saved);
  } else {
    printf("FAIL %s: %s\n", name, err);
    fails++;
  }

  ho.num_labels = 0; /* from the saved classifier */
  ho.seed = 99;      /* must not matter: the weights come from the checkpoint */
  st = porta_model_load(&loaded, ctx, dst);
  if (st == PORTA_OK) st = porta_head_create(&loaded_head, loaded, &ho);
  if (st == PORTA_OK) st = forward(&after, loaded, loaded_head, &in);
  if (st != PORTA_OK) {
    printf("FAIL %s: reload: %s\n", name, porta_last_error(ctx));
    fails++;
    goto done;
  }
  double mh, ml;
  nerr(after.hidden, before.hidden, before.n_hidden, &mh);
  nerr(after.logits, before.logits, before.n_logits, &ml);
  bool same = mh == 0.0 && ml == 0.0 && after.n_logits == before.n_logits;
  printf("%s %s: reloaded outputs: max|diff| last_hidden_state %.2e, logits %.2e (want 0)\n",
         same ? "ok  " : "FAIL", name, mh, ml);
  fails += !same;
  if (write_outputs(outputs_path, &in, &before, porta_model_get_config(model)->hidden_size))
    fails++;
  else
    printf("ok   %s: porta outputs in %s (python3 tools/check_roundtrip.py %s)\n", name,
           outputs_path, dst);

done:
  free(before.hidden);
  free(before.logits);
  free(after.hidden);
  free(after.logits);
  free(ids);
  free(mask);
  free(types);
  free(labels);
  free(params);
  porta_optimizer_free(sgd);
  porta_head_free(head);
  porta_head_free(loaded_head);
  porta_model_free(model);
  porta_model_free(loaded);
  porta_weights_close(fx);
  return fails;
}

int main(void) {
  porta_context *ctx = open_backend(PORTA_BACKEND_CPU, "test_bert_save");
  if (!ctx) return 1;
  int fails = run(ctx, "tiny_bert", PORTA_HEAD_POOLER, false);
  fails += run(ctx, "tiny_bert", PORTA_HEAD_MEAN, false);
  fails += run(ctx, "tiny_roberta", PORTA_HEAD_CLS, true);
  fails += run(ctx, "tiny_roberta", PORTA_HEAD_POOLER, false);
  porta_context_destroy(ctx);
  printf("test_bert_save: %d failure(s)\n", fails);
  return fails ? 1 : 0;
}
