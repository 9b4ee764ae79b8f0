/* The pooler and mean heads against PyTorch on the tiny BERT (tests/data/bert/, eval mode):
 * logits, loss, and the gradients of the pooler, the classifier and the word embeddings.
 * A frozen body gets no gradients while the head does; parameter listing and weight-decay
 * flags; seeded head initialisation is reproducible. CPU backend, tolerance 1e-4 (normalised
 * L2 error). */
#include "test_bert_util.h"

#define TOL 1e-4

typedef struct inputs {
  int32_t *ids, *mask, *types, *labels;
  porta_model_input in;
} inputs;

static int load_inputs(inputs *x, const porta_weights *fx) {
  int64_t n = 0;
  x->ids = fx_i32(fx, "input_ids", &n);
  x->mask = fx_i32(fx, "attention_mask", NULL);
  x->types = fx_i32(fx, "token_type_ids", NULL);
  x->labels = fx_i32(fx, "labels", NULL);
  porta_model_input in = {x->ids, x->mask, x->types, x->labels, 3, (int)(n / 3)};
  x->in = in;
  return x->ids && x->mask && x->types && x->labels ? 0 : 1;
}

static void free_inputs(inputs *x) {
  free(x->ids);
  free(x->mask);
  free(x->types);
  free(x->labels);
}

/* One head kind against the fixture entries "<prefix>.logits", "<prefix>.loss",
 * "<prefix>.grad.<name>". */
static int check_head(porta_context *ctx, porta_model *model, const porta_weights *fx,
                      const inputs *x, porta_head_kind kind, const char *prefix,
                      const char *label) {
  int fails = 0;
  porta_head_options ho;
  porta_head_options_init(&ho);
  ho.kind = kind;
  porta_head *head = NULL;
  if (porta_head_create(&head, model, &ho) != PORTA_OK) {
    printf("FAIL %s: porta_head_create: %s\n", label, porta_last_error(ctx));
    return 1;
  }
  int n = 0;
  porta_model_parameters(model, head, NULL, 0, &n);
  porta_param *params = calloc((size_t)n, sizeof *params);
  porta_model_parameters(model, head, params, n, &n);
  for (int i = 0; i < n; i++) porta_tensor_zero_grad(params[i].tensor);
  porta_model_output out;
  char name[256];
  if (porta_model_classify(&out, model, head, &x->in, NULL) != PORTA_OK ||
      porta_backward(out.loss) != PORTA_OK) {
    printf("FAIL %s: %s\n", label, porta_last_error(ctx));
    fails++;
    goto done;
  }
  snprintf(name, sizeof name, "%s.logits", prefix);
  fails += check_tensor(label, out.logits, fx, name, TOL);
  snprintf(name, sizeof name, "%s.loss", prefix);
  fails += check_tensor(label, out.loss, fx, name, TOL);
  int compared = 0;
  for (int i = 0; i < n; i++) {
    snprintf(name, sizeof name, "%s.grad.%s", prefix, params[i].name);
    if (porta_weights_find(fx, name) < 0) continue;
    fails += check_tensor(label, porta_tensor_grad(params[i].tensor), fx, name, TOL);
    compared++;
  }
  int want = kind == PORTA_HEAD_POOLER ? 5 : 3;
  if (compared != want) {
    printf("FAIL %s: compared %d gradients, expected %d\n", label, compared, want);
    fails++;
  }
done:
  porta_release_temporaries(ctx);
  for (int i = 0; i < n; i++) porta_tensor_zero_grad(params[i].tensor);
  free(params);
  porta_head_free(head);
  return fails;
}

static int check_frozen(porta_context *ctx, porta_model *model, const porta_weights *fx,
                        const inputs *x) {
  int fails = 0;
  porta_head *head = NULL;
  porta_head_options ho;
  porta_head_options_init(&ho);
  if (porta_model_set_trainable(model, false) != PORTA_OK ||
      porta_head_create(&head, model, &ho) != PORTA_OK) {
    printf("FAIL frozen: %s\n", porta_last_error(ctx));
    return 1;
  }
  int n = 0;
  porta_model_parameters(model, head, NULL, 0, &n);
  porta_param *params = calloc((size_t)n, sizeof *params);
  porta_model_parameters(model, head, params, n, &n);
  for (int i = 0; i < n; i++) {
    porta_tensor_zero_grad(params[i].tensor);
  }
  porta_model_output out;
  if (porta_model_classify(&out, model, head, &x->in, NULL) != PORTA_OK ||
      porta_backward(out.loss) != PORTA_OK) {
    printf("FAIL frozen: %s\n", porta_last_error(ctx));
    fails++;
    goto done;
  }
  int body_with_grad = 0, frozen = 0;
  for (int i = 0; i < n; i++) {
    bool is_head = !strncmp(params[i].name, "classifier.", 11);
    bool is_pooler = strstr(params[i].name, "pooler.") != NULL;
    if (is_head || is_pooler) continue;
    frozen += !porta_tensor_requires_grad(params[i].tensor);
    porta_tensor *g = porta_tensor_grad(params[i].tensor);
    if (!g) continue;
    int64_t m = porta_tensor_numel(g);
    float *h = malloc((size_t)m * sizeof *h);
    porta_tensor_download(g, h, (size_t)m);
    for (int64_t k = 0; k < m; k++)
      if (h[k] != 0.0f) {
        body_with_grad++;
        break;
      }
    free(h);
  }
  printf("%s frozen body: %d parameters frozen, %d with a gradient\n",
         body_with_grad == 0 && frozen == n - 4 ? "ok  " : "FAIL", frozen, body_with_grad);
  fails += body_with_grad != 0 || frozen != n - 4;
  /* the head's gradients do not depend on the body being frozen: same as the cls fixture */
  fails +=
      check_tensor("frozen body", porta_tensor_grad(find_param(params, n, "classifier.weight")), fx,
                   "grad.classifier.weight", TOL);
  fails += check_tensor("frozen body", porta_tensor_grad(find_param(params, n, "classifier.bias")),
                        fx, "grad.classifier.bias", TOL);
done:
  porta_release_temporaries(ctx);
  porta_model_set_trainable(model, true);
  free(params);
  porta_head_free(head);
  return fails;
}

static int check_params_and_init(porta_context *ctx, porta_model *model) {
  int fails = 0;
  porta_head_options ho;
  porta_head_options_init(&ho);
  ho.kind = PORTA_HEAD_MEAN;
  ho.num_labels = 2; /* ≠ the checkpoint's 3: initialised from the seed */
  ho.seed = 7;
  porta_head *a = NULL, *b = NULL;
  porta_head_create(&a, model, &ho);
  porta_head_create(&b, model, &ho);
  int n = 0;
  porta_model_parameters(model, a, NULL, 0, &n);
  porta_param *params = calloc((size_t)n, sizeof *params);
  porta_model_parameters(model, a, params, n, &n);
  /* 5 embedding + 16 per layer × 2 + 2 pooler + 2 head */
  int decay = 0;
  for (int i = 0; i < n; i++) decay += params[i].weight_decay;
  bool names_ok = !strcmp(params[0].name, "bert.embeddings.word_embeddings.weight") &&
                  !strcmp(params[n - 1].name, "classifier.bias");
  /* decayed: 3 embeddings, 6 linear weights × 2 layers, pooler, classifier */
  printf("%s parameters: %d listed (%d decayed), first %s, last %s\n",
         n == 41 && decay == 17 && names_ok ? "ok  " : "FAIL", n, decay, params[0].name,
         params[n - 1].name);
  fails += n != 41 || decay != 17 || !names_ok;
  porta_param small[3];
  int count = 0;
  porta_status st = porta_model_parameters(model, a, small, 3, &count);
  printf("%s capacity 3 -> %s (count %d)\n", st == PORTA_ERR_LIMIT ? "ok  " : "FAIL",
         porta_status_string(st), count);
  fails += st != PORTA_ERR_LIMIT;

  float wa[64], wb[64];
  porta_param pb[64];
  int nb = 0;
  porta_model_parameters(NULL, b, pb, 64, &nb);
  porta_tensor_download(params[n - 2].tensor, wa, 64);
  porta_tensor_download(pb[nb - 2].tensor, wb, 64);
  double ss = 0;
  for (int i = 0; i < 64; i++) ss += (double)wa[i] * wa[i];
  double std = sqrt(ss / 64);
  bool same = !memcmp(wa, wb, sizeof wa);
  printf("%s seeded init: identical %s, std %.4f (want ≈ 0.02)\n",
         same && std > 0.01 && std < 0.03 ? "ok  " : "FAIL", same ? "yes" : "no", std);
  fails += !same || !(std > 0.01 && std < 0.03);
  free(params);
  porta_head_free(a);
  porta_head_free(b);
  (void)ctx;
  return fails;
}

/* Training mode draws dropout masks: logits change from eval, and replaying the same RNG stream
 * gives the same logits bit for bit. */
static int check_dropout(porta_context *ctx, porta_model *model, const inputs *x) {
  porta_head *head = NULL;
  porta_head_options ho;
  porta_head_options_init(&ho);
  if (porta_head_create(&head, model, &ho) != PORTA_OK) return 1;
  float eval[9], a[9], b[9];
  porta_model_output out;
  porta_status st = porta_model_classify(&out, model, head, &x->in, NULL);
  if (st == PORTA_OK) st = porta_tensor_download(out.logits, eval, 9);
  porta_release_temporaries(ctx);
  porta_set_training(ctx, true);
  uint64_t stream = porta_rng_stream(ctx);
  if (st == PORTA_OK) st = porta_model_classify(&out, model, head, &x->in, NULL);
  if (st == PORTA_OK) st = porta_tensor_download(out.logits, a, 9);
  porta_release_temporaries(ctx);
  porta_set_rng_stream(ctx, stream);
  if (st == PORTA_OK) st = porta_model_classify(&out, model, head, &x->in, NULL);
  if (st == PORTA_OK) st = porta_tensor_download(out.logits, b, 9);
  porta_release_temporaries(ctx);
  porta_set_training(ctx, false);
  porta_head_free(head);
  bool differs = memcmp(eval, a, sizeof a) != 0, same = !memcmp(a, b, sizeof a);
  printf("%s dropout in training: logits differ from eval %s, replay identical %s (%s)\n",
         st == PORTA_OK && differs && same ? "ok  " : "FAIL", differs ? "yes" : "no",
         same ? "yes" : "no", porta_status_string(st));
  return st != PORTA_OK || !differs || !same;
}

/* RoBERTa's pooler head = RobertaForSequenceClassification (classifier.dense + out_proj, from
 * the checkpoint). */
static int check_roberta(porta_context *ctx) {
  char err[512];
  porta_weights *fx = NULL;
  porta_model *model = NULL;
  if (porta_weights_open(&fx, PORTA_TEST_DATA "/bert/tiny_roberta_expected.safetensors", err,
                         sizeof err) != PORTA_OK ||
      porta_model_load(&model, ctx, PORTA_TEST_DATA "/bert/tiny_roberta") != PORTA_OK) {
    printf("FAIL roberta: %s %s\n", err, porta_last_error(ctx));
    porta_weights_close(fx);
    return 1;
  }
  inputs x;
  int fails = load_inputs(&x, fx);
  bool found = porta_model_classifier_labels(model) == 3 && !porta_model_has_pooler(model);
  printf("%s roberta checkpoint: classifier with %d labels (dense + out_proj), pooler %s\n",
         found ? "ok  " : "FAIL", porta_model_classifier_labels(model),
         porta_model_has_pooler(model) ? "yes" : "no");
  fails += !found;
  if (!fails)
    fails += check_head(ctx, model, fx, &x, PORTA_HEAD_POOLER, "pooler", "roberta pooler");
  free_inputs(&x);
  porta_model_free(model);
  porta_weights_close(fx);
  return fails;
}

int main(void) {
  porta_context *ctx = open_backend(PORTA_BACKEND_CPU, "test_heads");
  if (!ctx) return 1;
  char err[512];
  porta_weights *fx = NULL;
  if (porta_weights_open(&fx, PORTA_TEST_DATA "/bert/tiny_bert_expected.safetensors", err,
                         sizeof err) != PORTA_OK) {
    printf("FAIL: %s\n", err);
    return 1;
  }
  porta_model *model = NULL;
  if (porta_model_load(&model, ctx, PORTA_TEST_DATA "/bert/tiny_bert") != PORTA_OK) {
    printf("FAIL: %s\n", porta_last_error(ctx));
    return 1;
  }
  inputs x;
  int fails = load_inputs(&x, fx);
  if (!fails) {
    fails += check_head(ctx, model, fx, &x, PORTA_HEAD_POOLER, "pooler", "bert pooler");
    fails += check_head(ctx, model, fx, &x, PORTA_HEAD_MEAN, "mean", "bert mean");
    fails += check_frozen(ctx, model, fx, &x);
    fails += check_params_and_init(ctx, model);
    fails += check_dropout(ctx, model, &x);
  }
  free_inputs(&x);
  porta_model_free(model);
  porta_weights_close(fx);
  fails += check_roberta(ctx);
  porta_context_destroy(ctx);
  printf("test_heads: %d failure(s)\n", fails);
  return fails ? 1 : 0;
}
