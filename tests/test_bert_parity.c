/* Parity of the BERT / RoBERTa bodies and the cls head with PyTorch (transformers 5, eval mode):
 * every hidden state, every attention map, logits, cross-entropy loss and the gradient of that
 * loss for every parameter (body + head), on the tiny random models of tests/data/bert/ made by
 * tools/gen_bert_fixtures.py. Runs on every backend that can be created; others print
 * "skipped: <reason>".
 * Tolerance (normalised L2 error ‖porta − torch‖₂ / ‖torch‖₂): 1e-4 on every backend (f32
 * throughout; measured here: ≤ 1.1e-6 on the CPU, ≤ 1.4e-6 on PoCL and lavapipe). A tensor that
 * is zero in exact arithmetic (the key bias's gradient) is compared absolutely (1e-6).
 * Also runs the training-mode path (attention dropout through separate ops, dropout
 * probabilities ~0 so the fixture still applies) and checks input validation. */
#include <sys/stat.h>
#include <unistd.h>

#include "test_bert_util.h"

#define CPU_TOL 1e-4
#define GPU_TOL 1e-4

typedef struct parity_case {
  const char *name;     /* "tiny_bert" */
  const char *expected; /* fixture file */
  bool head_in_fixture; /* the head's weights come from the fixture, not the checkpoint */
} parity_case;

static int run_case(porta_context *ctx, const parity_case *pc, double tol) {
  char dir[1024], path[1024];
  snprintf(dir, sizeof dir, "%s/bert/%s", PORTA_TEST_DATA, pc->name);
  snprintf(path, sizeof path, "%s/bert/%s", PORTA_TEST_DATA, pc->expected);
  const char *be = porta_backend_name(porta_context_backend(ctx));
  char label[128];
  snprintf(label, sizeof label, "%s/%s", pc->name, be);
  char err[512];
  porta_weights *fx = NULL;
  if (porta_weights_open(&fx, path, err, sizeof err) != PORTA_OK) {
    printf("FAIL %s: cannot open fixture: %s\n", label, err);
    return 1;
  }
  int fails = 0;
  porta_model *model = NULL;
  porta_head *head = NULL;
  porta_param *params = NULL;
  int32_t *ids = NULL, *mask = NULL, *types = NULL, *labels = NULL;
  if (porta_model_load(&model, ctx, dir) != PORTA_OK) {
    printf("FAIL %s: porta_model_load: %s\n", label, porta_last_error(ctx));
    fails++;
    goto done;
  }
  const porta_model_config *cfg = porta_model_get_config(model);
  porta_head_options ho;
  porta_head_options_init(&ho);
  ho.kind = PORTA_HEAD_CLS;
  ho.num_labels = 3;
  ho.dropout = 0.0f;
  if (porta_head_create(&head, model, &ho) != PORTA_OK) {
    printf("FAIL %s: porta_head_create: %s\n", label, porta_last_error(ctx));
    fails++;
    goto done;
  }
  int n_params = 0;
  porta_model_parameters(model, head, NULL, 0, &n_params);
  params = calloc((size_t)n_params, sizeof *params);
  porta_model_parameters(model, head, params, n_params, &n_params);
  if (pc->head_in_fixture) {
    const char *names[2] = {"classifier.weight", "classifier.bias"};
    for (int i = 0; i < 2; i++) {
      int64_t n;
      float *data = fx_f32(fx, names[i], &n);
      if (!data || porta_tensor_upload(find_param(params, n_params, names[i]), data, (size_t)n)) {
        printf("FAIL %s: cannot set %s\n", label, names[i]);
        fails++;
      }
      free(data);
    }
  } else if (porta_model_classifier_labels(model) != 3) {
    printf("FAIL %s: the checkpoint's classifier was not found (labels %d)\n", label,
           porta_model_classifier_labels(model));
    fails++;
  }

  int64_t n_ids = 0;
  ids = fx_i32(fx, "input_ids", &n_ids);
  mask = fx_i32(fx, "attention_mask", NULL);
  types = fx_i32(fx, "token_type_ids", NULL);
  labels = fx_i32(fx, "labels", NULL);
  if (!ids || !mask || !types || !labels) {
    fails++;
    goto done;
  }
  porta_model_input in = {ids, mask, types, labels, 3, (int)(n_ids / 3)};
  porta_model_output out;
  char name[256];
  /* pass 0: eval mode (porta_attention's fused op). pass 1: training mode with dropout
   * probabilities ~0 (hidden 0, attention 1e-7, head 0): the attention goes through separate
   * matmul / softmax / dropout ops, which must give the same numbers. */
  for (int pass = 0; pass < 2; pass++) {
    char plabel[160];
    snprintf(plabel, sizeof plabel, "%s%s", label, pass ? " train" : "");
    porta_set_training(ctx, pass == 1);
    porta_model_set_dropout(model, pass ? 0.0f : -1.0f, pass ? 1e-7f : -1.0f);
    for (int i = 0; i < n_params; i++) porta_tensor_zero_grad(params[i].tensor);
    porta_forward_options fo = {true, true};
    if (porta_model_classify(&out, model, head, &in, &fo) != PORTA_OK) {
      printf("FAIL %s: porta_model_classify: %s\n", plabel, porta_last_error(ctx));
      fails++;
      goto done;
    }
    if (out.num_hidden_states != cfg->num_hidden_layers + 1 ||
        out.num_attentions != cfg->num_hidden_layers) {
      printf("FAIL %s: %d hidden states, %d attention maps\n", plabel, out.num_hidden_states,
             out.num_attentions);
      fails++;
    }
    for (int i = 0; i < out.num_hidden_states; i++) {
      snprintf(name, sizeof name, "hidden_states.%d", i);
      fails += check_tensor(plabel, out.hidden_states[i], fx, name, tol);
    }
    for (int i = 0; i < out.num_attentions; i++) {
      snprintf(name, sizeof name, "attentions.%d", i);
      fails += check_tensor(plabel, out.attentions[i], fx, name, tol);
    }
    snprintf(name, sizeof name, "hidden_states.%d", out.num_hidden_states - 1);
    fails += check_tensor(plabel, out.last_hidden_state, fx, name, tol);
    fails += check_tensor(plabel, out.logits, fx, "logits", tol);
    fails += check_tensor(plabel, out.loss, fx, "loss", tol);

    if (porta_backward(out.loss) != PORTA_OK) {
      printf("FAIL %s: porta_backward: %s\n", plabel, porta_last_error(ctx));
      fails++;
      goto done;
    }
    int compared = 0;
    for (int i = 0; i < n_params; i++) {
      snprintf(name, sizeof name, "grad.%s", params[i].name);
      porta_tensor *g = porta_tensor_grad(params[i].tensor);
      if (porta_weights_find(fx, name) >= 0) {
        fails += check_tensor(plabel, g, fx, name, tol);
        compared++;
        continue;
      }
      /* PyTorch gave no gradient (the pooler is not on the cls head's path): nor must porta */
      if (g) {
        int64_t n = porta_tensor_numel(g);
        float *host = malloc((size_t)n * sizeof *host);
        porta_tensor_download(g, host, (size_t)n);
        double sum = 0;
        for (int64_t k = 0; k < n; k++) sum += fabs(host[k]);
        free(host);
        if (sum != 0) {
          printf("FAIL %s: %s has a non-zero gradient (Σ|g| = %g), PyTorch none\n", plabel,
                 params[i].name, sum);
          fails++;
        }
      }
    }
    printf("%s: compared %d of %d parameter gradients\n", plabel, compared, n_params);
    if (compared < n_params - 2) {
      printf("FAIL %s: too few gradients in the fixture\n", plabel);
      fails++;
    }
    porta_release_temporaries(ctx);
  }
  porta_set_training(ctx, false);

  /* input validation: on the host, before anything runs */
  int32_t saved = ids[4];
  ids[4] = (int32_t)cfg->vocab_size;
  porta_status st = porta_model_forward(&out, model, &in, NULL);
  printf("%s %s: id %d out of range -> %s: %s\n",
         st == PORTA_ERR_INVALID_ARGUMENT ? "ok  " : "FAIL", label, ids[4], porta_status_string(st),
         porta_last_error(ctx));
  fails += st != PORTA_ERR_INVALID_ARGUMENT;
  ids[4] = saved;
  int32_t saved_type = types[1];
  types[1] = (int32_t)cfg->type_vocab_size;
  st = porta_model_forward(&out, model, &in, NULL);
  printf("%s %s: token type out of range -> %s\n",
         st == PORTA_ERR_INVALID_ARGUMENT ? "ok  " : "FAIL", label, porta_status_string(st));
  fails += st != PORTA_ERR_INVALID_ARGUMENT;
  types[1] = saved_type;
  /* the longest sequence the positions allow runs (RoBERTa: max_position - pad - 1, no pads);
   * one more token is PORTA_ERR_LIMIT */
  int max_len = (int)porta_model_max_seq_len(model);
  int32_t *long_ids = calloc((size_t)max_len + 1, sizeof *long_ids);
  for (int i = 0; i <= max_len; i++) long_ids[i] = 5 + i % 90;
  porta_model_input longest = {long_ids, NULL, NULL, NULL, 1, max_len};
  st = porta_model_forward(&out, model, &longest, NULL);
  printf("%s %s: %d tokens -> %s %s\n", st == PORTA_OK ? "ok  " : "FAIL", label, max_len,
         porta_status_string(st), st ? porta_last_error(ctx) : "");
  fails += st != PORTA_OK;
  longest.seq_len = max_len + 1;
  st = porta_model_forward(&out, model, &longest, NULL);
  printf("%s %s: %d tokens -> %s: %s\n", st == PORTA_ERR_LIMIT ? "ok  " : "FAIL", label,
         longest.seq_len, porta_status_string(st), porta_last_error(ctx));
  fails += st != PORTA_ERR_LIMIT;
  free(long_ids);
  porta_release_temporaries(ctx);

done:
  free(ids);
  free(mask);
  free(types);
  free(labels);
  free(params);
  porta_head_free(head);
  porta_model_free(model);
  porta_weights_close(fx);
  return fails;
}

static int check_load_errors(porta_context *ctx) {
  int fails = 0;
  porta_model *m = NULL;
  porta_status st = porta_model_load(&m, ctx, PORTA_TEST_DATA "/bert/no_such_model");
  printf("%s missing folder -> %s: %s\n", st != PORTA_OK && !m ? "ok  " : "FAIL",
         porta_status_string(st), porta_last_error(ctx));
  fails += st == PORTA_OK || m;
  porta_model_free(m);

  /* the tiny BERT's weights under a config that does not fit them: a missing tensor (3 layers),
   * a shape mismatch (intermediate_size 40) and unused layers (1 layer: transformers would load
   * layer 0 and log layer 1 as unexpected; porta refuses) with messages naming the tensor or
   * both layer counts */
  const char *bad_dir = PORTA_BINARY_DIR "/test_bert_parity_bad";
  mkdir(bad_dir, 0755);
  char link_path[1024];
  snprintf(link_path, sizeof link_path, "%s/model.safetensors", bad_dir);
  unlink(link_path);
  if (symlink(PORTA_TEST_DATA "/bert/tiny_bert/model.safetensors", link_path) != 0) {
    printf("FAIL cannot link %s\n", link_path);
    fails++;
  }
  for (int variant = 0; variant < 3; variant++) {
    char err[512];
    porta_model_config bad;
    memset(&bad, 0, sizeof bad);
    porta_config_load(&bad, PORTA_TEST_DATA "/bert/tiny_bert", err, sizeof err);
    if (variant == 0) bad.num_hidden_layers = 3;
    if (variant == 1) bad.intermediate_size = 40;
    if (variant == 2) bad.num_hidden_layers = 1;
    porta_config_save(&bad, bad_dir, NULL, err, sizeof err);
    porta_config_free(&bad);
    static const char *const what[] = {"config with 3 layers for 2", "intermediate_size 40 for 37",
                                       "config with 1 layer for 2"};
    static const char *const needles[][2] = {
        {"encoder.layer.2.attention.self.query.weight", "holds 2 layers"},
        {"[37, 32]", "[37, 32]"},
        {"num_hidden_layers 1", "holds 2 layers"}};
    porta_status want = variant == 0 ? PORTA_ERR_NOT_FOUND : PORTA_ERR_SHAPE;
    st = porta_model_load(&m, ctx, bad_dir);
    const char *msg = porta_last_error(ctx);
    bool ok =
        st == want && !m && strstr(msg, needles[variant][0]) && strstr(msg, needles[variant][1]);
    printf("%s %s -> %s: %s\n", ok ? "ok  " : "FAIL", what[variant], porta_status_string(st), msg);
    fails += !ok;
    porta_model_free(m);
    m = NULL;
  }

  /* the same weights saved without the "bert." prefix (as BertModel / MiniLM save them) load
   * and give the same last_hidden_state */
  {
    const char *plain_dir = PORTA_BINARY_DIR "/test_bert_parity_noprefix";
    mkdir(plain_dir, 0755);
    char err[512], path[1024];
    porta_weights *src = NULL;
    st = porta_weights_open(&src, PORTA_TEST_DATA "/bert/tiny_bert", err, sizeof err);
    int count = st == PORTA_OK ? porta_weights_count(src) : 0;
    porta_named_array *arrays = calloc((size_t)count + 1, sizeof *arrays);
    for (int i = 0; i < count; i++) {
      const char *name = porta_weights_name(src, i);
      arrays[i].name = strncmp(name, "bert.", 5) ? name : name + 5;
      arrays[i].ndim = porta_weights_ndim(src, i);
      memcpy(arrays[i].shape, porta_weights_shape(src, i),
             (size_t)arrays[i].ndim * sizeof(int64_t));
      float *data = malloc((size_t)porta_weights_numel(src, i) * sizeof *data);
      porta_weights_read_f32(src, i, data, (size_t)porta_weights_numel(src, i), err, sizeof err);
      arrays[i].data = data;
    }
    snprintf(path, sizeof path, "%s/model.safetensors", plain_dir);
    if (st == PORTA_OK) st = porta_safetensors_write(path, arrays, count, NULL, err, sizeof err);
    porta_model_config c;
    memset(&c, 0, sizeof c);
    if (st == PORTA_OK)
      st = porta_config_load(&c, PORTA_TEST_DATA "/bert/tiny_bert", err, sizeof err);
    if (st == PORTA_OK) st = porta_config_save(&c, plain_dir, NULL, err, sizeof err);
    porta_config_free(&c);
    for (int i = 0; i < count; i++) free((void *)arrays[i].data);
    free(arrays);
    porta_weights_close(src);
    porta_weights *fx = NULL;
    if (st == PORTA_OK)
      st = porta_weights_open(&fx, PORTA_TEST_DATA "/bert/tiny_bert_expected.safetensors", err,
                              sizeof err);
    if (st == PORTA_OK) st = porta_model_load(&m, ctx, plain_dir);
    if (st == PORTA_OK) {
      int32_t *ids = fx_i32(fx, "input_ids", NULL), *mask = fx_i32(fx, "attention_mask", NULL);
      int32_t *types = fx_i32(fx, "token_type_ids", NULL);
      porta_model_input in = {ids, mask, types, NULL, 3, 7};
      porta_model_output out;
      st = porta_model_forward(&out, m, &in, NULL);
      if (st == PORTA_OK)
        fails += check_tensor("no prefix", out.last_hidden_state, fx, "hidden_states.2", CPU_TOL);
      fails += porta_model_has_pooler(m) != true || porta_model_classifier_labels(m) != 3;
      porta_release_temporaries(ctx);
      free(ids);
      free(mask);
      free(types);
    }
    if (st != PORTA_OK) {
      printf("FAIL weights without prefix: %s %s\n", err, porta_last_error(ctx));
      fails++;
    }
    porta_model_free(m);
    m = NULL;
    porta_weights_close(fx);
  }

  /* an unsupported activation is refused with a message naming it */
  char err[512];
  porta_model_config cfg;
  memset(&cfg, 0, sizeof cfg);
  porta_config_init(&cfg, "bert", err, sizeof err);
  cfg.hidden_size = 8;
  cfg.num_attention_heads = 2;
  cfg.num_hidden_layers = 1;
  cfg.intermediate_size = 16;
  cfg.vocab_size = 10;
  snprintf(cfg.hidden_act, sizeof cfg.hidden_act, "swish");
  st = porta_model_create(&m, ctx, &cfg, 1);
  bool named = strstr(porta_last_error(ctx), "swish") != NULL;
  printf("%s hidden_act swish -> %s: %s\n", st == PORTA_ERR_UNSUPPORTED && named ? "ok  " : "FAIL",
         porta_status_string(st), porta_last_error(ctx));
  fails += st != PORTA_ERR_UNSUPPORTED || !named;
  porta_model_free(m);
  m = NULL;

  /* a random body from a config runs */
  snprintf(cfg.hidden_act, sizeof cfg.hidden_act, "relu");
  st = porta_model_create(&m, ctx, &cfg, 1);
  if (st == PORTA_OK) {
    int32_t ids[4] = {1, 2, 3, 4};
    porta_model_input in = {ids, NULL, NULL, NULL, 2, 2};
    porta_model_output out;
    st = porta_model_forward(&out, m, &in, NULL);
    if (st == PORTA_OK && porta_tensor_dim(out.last_hidden_state, 2) != 8) st = PORTA_ERR_SHAPE;
  }
  printf("%s porta_model_create (relu) + forward -> %s %s\n", st == PORTA_OK ? "ok  " : "FAIL",
         porta_status_string(st), st ? porta_last_error(ctx) : "");
  fails += st != PORTA_OK;
  porta_release_temporaries(ctx);
  porta_model_free(m);
  porta_config_free(&cfg);
  return fails;
}

int main(void) {
  static const parity_case cases[] = {
      {"tiny_bert", "tiny_bert_expected.safetensors", false},
      {"tiny_roberta", "tiny_roberta_expected.safetensors", true},
  };
  static const porta_backend_kind backends[] = {PORTA_BACKEND_CPU, PORTA_BACKEND_OPENCL,
                                                PORTA_BACKEND_VULKAN};
  int fails = 0, ran = 0;
  for (int b = 0; b < 3; b++) {
    porta_context *ctx = open_backend(backends[b], "test_bert_parity");
    if (!ctx) {
      if (backends[b] == PORTA_BACKEND_CPU) fails++;
      continue;
    }
    double tol = backends[b] == PORTA_BACKEND_CPU ? CPU_TOL : GPU_TOL;
    for (int c = 0; c < 2; c++) fails += run_case(ctx, &cases[c], tol);
    if (backends[b] == PORTA_BACKEND_CPU) fails += check_load_errors(ctx);
    ran++;
    porta_context_destroy(ctx);
  }
  printf("test_bert_parity: %d backend(s), %d failure(s)\n", ran, fails);
  return fails ? 1 : 0;
}
