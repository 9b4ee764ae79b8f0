/* The real all-MiniLM-L6-v2 (from $PORTA_MINILM_DIR, else <source>/models/all-MiniLM-L6-v2;
 * skipped with a message when absent): last_hidden_state for 3 sentences (ids from the Hub
 * tokenizer, stored with PyTorch's output by tools/gen_bert_fixtures.py) matches within a
 * normalised L2 error of 1e-4 on the CPU backend. Set PORTA_MINILM_BACKENDS=all to also run
 * OpenCL / Vulkan (same tolerance). */
#include <sys/stat.h>

#include "test_bert_util.h"

static int run(porta_context *ctx, const char *dir, const porta_weights *fx, double tol) {
  const char *be = porta_backend_name(porta_context_backend(ctx));
  porta_model *model = NULL;
  if (porta_model_load(&model, ctx, dir) != PORTA_OK) {
    printf("FAIL [%s] porta_model_load: %s\n", be, porta_last_error(ctx));
    return 1;
  }
  int64_t n = 0;
  int32_t *ids = fx_i32(fx, "input_ids", &n);
  int32_t *mask = fx_i32(fx, "attention_mask", NULL);
  int32_t *types = fx_i32(fx, "token_type_ids", NULL);
  int fails = 0;
  if (!ids || !mask || !types) {
    fails++;
  } else {
    porta_model_input in = {ids, mask, types, NULL, 3, (int)(n / 3)};
    porta_model_output out;
    porta_no_grad_begin(ctx);
    if (porta_model_forward(&out, model, &in, NULL) != PORTA_OK) {
      printf("FAIL [%s] forward: %s\n", be, porta_last_error(ctx));
      fails++;
    } else {
      char label[64];
      snprintf(label, sizeof label, "MiniLM-L6 %s (3 × %d tokens)", be, in.seq_len);
      fails += check_tensor(label, out.last_hidden_state, fx, "last_hidden_state", tol);
    }
    porta_no_grad_end(ctx);
    porta_release_temporaries(ctx);
  }
  free(ids);
  free(mask);
  free(types);
  porta_model_free(model);
  return fails;
}

int main(void) {
  char dir[2048];
  const char *env = getenv("PORTA_MINILM_DIR");
  snprintf(dir, sizeof dir, "%s",
           env && env[0] ? env : PORTA_SOURCE_DIR "/models/all-MiniLM-L6-v2");
  char probe[2100];
  snprintf(probe, sizeof probe, "%s/config.json", dir);
  struct stat st;
  if (stat(probe, &st) != 0) {
    printf("test_minilm skipped: no model in %s (tools/setup.sh --model installs it, or set "
           "PORTA_MINILM_DIR)\n",
           dir);
    return 0;
  }
  char err[512];
  porta_weights *fx = NULL;
  if (porta_weights_open(&fx, PORTA_TEST_DATA "/bert/minilm_expected.safetensors", err,
                         sizeof err) != PORTA_OK) {
    printf("FAIL: %s\n", err);
    return 1;
  }
  const char *which = getenv("PORTA_MINILM_BACKENDS");
  bool all = which && !strcmp(which, "all");
  static const porta_backend_kind backends[] = {PORTA_BACKEND_CPU, PORTA_BACKEND_OPENCL,
                                                PORTA_BACKEND_VULKAN};
  int fails = 0;
  for (int b = 0; b < (all ? 3 : 1); b++) {
    porta_context *ctx = open_backend(backends[b], "test_minilm");
    if (!ctx) {
      fails += backends[b] == PORTA_BACKEND_CPU;
      continue;
    }
    fails += run(ctx, dir, fx, 1e-4);
    porta_context_destroy(ctx);
  }
  porta_weights_close(fx);
  printf("test_minilm: %d failure(s)\n", fails);
  return fails ? 1 : 0;
}
