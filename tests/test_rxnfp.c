/* The three real BERT checkpoints of the PyPI package rxnfp (legacy pytorch_model.bin, configs
 * without model_type; from $PORTA_RXNFP_DIR, a folder holding rxnfp/models/transformers/; skipped
 * with a message when unset or absent): porta's last_hidden_state on the CPU backend matches
 * PyTorch's BertModel within a normalised L2 error of 1e-4 for a fixed padded batch (fixture
 * written by tools/gen_rxnfp_fixture.py). For bert_ft_10k_25s, a BertForSequenceClassification
 * with 50 labels, the pooler head created from the checkpoint must carry its classifier and give
 * PyTorch's logits. bert_ft (bare body) and bert_pretrained (BertForPreTraining: MLM + NSP heads,
 * which porta skips) must report no classifier. */
#include <sys/stat.h>

#include "test_bert_util.h"

#define RX_BATCH 2
#define RX_SEQ 9

/* Compares porta's classifier.weight row 0 and the pooler head's logits with PyTorch's. */
static int check_classifier(porta_model *model, const porta_model_output *body,
                            const porta_weights *fx, const char *name) {
  porta_context *ctx = porta_model_context(model);
  int labels = porta_model_classifier_labels(model);
  printf("%s %s: porta_model_classifier_labels = %d (want 50)\n", labels == 50 ? "ok  " : "FAIL",
         name, labels);
  if (labels != 50) return 1;
  porta_head_options ho;
  porta_head_options_init(&ho);
  ho.kind = PORTA_HEAD_POOLER;
  ho.num_labels = 0; /* the checkpoint's */
  ho.from_checkpoint = true;
  porta_head *head = NULL;
  if (porta_head_create(&head, model, &ho) != PORTA_OK) {
    printf("FAIL %s: porta_head_create(pooler): %s\n", name, porta_last_error(ctx));
    return 1;
  }
  int fails = 0;
  if (porta_head_num_labels(head) != 50) {
    printf("FAIL %s: pooler head has %d labels, want 50\n", name, porta_head_num_labels(head));
    fails++;
  }
  /* classifier.weight [50, 256]: row 0 against the checkpoint's */
  porta_param params[16];
  int count = 0;
  porta_tensor *weight = NULL;
  if (porta_model_parameters(NULL, head, params, 16, &count) == PORTA_OK)
    weight = find_param(params, count, "classifier.weight");
  int64_t hidden = porta_model_get_config(model)->hidden_size;
  if (!weight || porta_tensor_numel(weight) != 50 * hidden) {
    printf("FAIL %s: head has no classifier.weight of 50 x %lld\n", name, (long long)hidden);
    fails++;
  } else {
    float *all = malloc((size_t)(50 * hidden) * sizeof *all);
    int64_t n = 0;
    float *want = fx_f32(fx, "bert_ft_10k_25s.classifier.weight_row0", &n);
    if (!all || !want || n != hidden ||
        porta_tensor_download(weight, all, (size_t)(50 * hidden)) != PORTA_OK) {
      printf("FAIL %s: cannot compare classifier.weight\n", name);
      fails++;
    } else {
      double mx, e = nerr(all, want, n, &mx);
      int bad = !(mx == 0.0);
      printf("%s %s: classifier.weight[0, :] from checkpoint, nerr %.2e max|diff| %.2e "
             "(want exact)\n",
             bad ? "FAIL" : "ok  ", name, e, mx);
      fails += bad;
    }
    free(all);
    free(want);
  }
  porta_tensor *logits = NULL;
  if (porta_head_forward(&logits, head, body) != PORTA_OK) {
    printf("FAIL %s: porta_head_forward: %s\n", name, porta_last_error(ctx));
    fails++;
  } else {
    fails += check_tensor("pooler head logits [2, 50] (CPU)", logits, fx, "bert_ft_10k_25s.logits",
                          1e-4);
  }
  porta_head_free(head);
  return fails;
}

static int run_folder(porta_context *ctx, const char *root, const char *name,
                      const porta_weights *fx, const int32_t *ids, const int32_t *mask) {
  char dir[2300];
  snprintf(dir, sizeof dir, "%s/rxnfp/models/transformers/%s", root, name);
  porta_model *model = NULL;
  if (porta_model_load(&model, ctx, dir) != PORTA_OK) {
    printf("FAIL %s: porta_model_load: %s\n", name, porta_last_error(ctx));
    return 1;
  }
  int fails = 0;
  porta_model_input in = {ids, mask, NULL, NULL, RX_BATCH, RX_SEQ};
  porta_model_output out;
  porta_no_grad_begin(ctx);
  if (porta_model_forward(&out, model, &in, NULL) != PORTA_OK) {
    printf("FAIL %s: porta_model_forward: %s\n", name, porta_last_error(ctx));
    fails++;
  } else {
    char want[128], label[128];
    snprintf(want, sizeof want, "%s.last_hidden_state", name);
    snprintf(label, sizeof label, "[2, %d, 256] (CPU)", RX_SEQ);
    fails += check_tensor(label, out.last_hidden_state, fx, want, 1e-4);
    if (!strcmp(name, "bert_ft_10k_25s")) {
      fails += check_classifier(model, &out, fx, name);
    } else {
      int labels = porta_model_classifier_labels(model);
      printf("%s %s: porta_model_classifier_labels = %d (want 0: no classifier)\n",
             labels == 0 ? "ok  " : "FAIL", name, labels);
      fails += labels != 0;
    }
  }
  porta_no_grad_end(ctx);
  porta_release_temporaries(ctx);
  porta_model_free(model);
  return fails;
}

int main(void) {
  static const char *const folders[] = {"bert_ft", "bert_ft_10k_25s", "bert_pretrained"};
  const char *root = getenv("PORTA_RXNFP_DIR");
  if (!root || !root[0]) {
    printf("test_rxnfp skipped: PORTA_RXNFP_DIR is not set (a folder holding "
           "rxnfp/models/transformers/)\n");
    return 0;
  }
  for (int f = 0; f < 3; f++) {
    char probe[2300];
    struct stat st;
    snprintf(probe, sizeof probe, "%s/rxnfp/models/transformers/%s/pytorch_model.bin", root,
             folders[f]);
    if (stat(probe, &st) != 0) {
      printf("test_rxnfp skipped: no %s\n", probe);
      return 0;
    }
  }
  char err[512];
  porta_weights *fx = NULL;
  if (porta_weights_open(&fx, PORTA_TEST_DATA "/rxnfp/rxnfp_hidden.safetensors", err, sizeof err) !=
      PORTA_OK) {
    printf("FAIL: %s\n", err);
    return 1;
  }
  int64_t n = 0;
  int32_t *ids = fx_i32(fx, "input_ids", &n);
  int32_t *mask = fx_i32(fx, "attention_mask", NULL);
  porta_context *ctx = open_backend(PORTA_BACKEND_CPU, "test_rxnfp");
  int fails = 0;
  if (!ids || !mask || n != RX_BATCH * RX_SEQ || !ctx) {
    printf("FAIL: fixture ids/mask (%lld values, want %d) or CPU context\n", (long long)n,
           RX_BATCH * RX_SEQ);
    fails++;
  } else {
    for (int f = 0; f < 3; f++) fails += run_folder(ctx, root, folders[f], fx, ids, mask);
  }
  if (ctx) porta_context_destroy(ctx);
  free(ids);
  free(mask);
  porta_weights_close(fx);
  printf("test_rxnfp: %d failure(s)\n", fails);
  return fails ? 1 : 0;
}
