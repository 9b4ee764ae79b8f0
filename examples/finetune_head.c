/* Load a Hub folder (body + tokenizer), attach the cls head and train three steps on two
 * headlines (forward, backward, AdamW) on any backend ($PORTA_BACKEND: cpu, opencl, vulkan),
 * printing the loss.
 *   finetune_head models/all-MiniLM-L6-v2 */
#include <stdio.h>
#include <string.h>

#include "porta/porta.h"

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != PORTA_OK) {                                                                      \
      fprintf(stderr, "%s\n", porta_last_error(ctx));                                              \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

int main(int argc, char **argv) {
  porta_context *ctx;
  porta_model *model;
  porta_head *head;
  porta_optimizer *opt;
  porta_context_options co;
  porta_context_options_init(&co);
  char err[512];
  if (argc < 2 || porta_context_create(&ctx, &co, err, sizeof err) != PORTA_OK) {
    fprintf(stderr, "usage: finetune_head MODEL_DIR (%s)\n", argc < 2 ? "no folder" : err);
    return 1;
  }
  CHECK(porta_model_load(&model, ctx, argv[1]));
  porta_head_options ho;
  porta_head_options_init(&ho);
  ho.num_labels = 2;
  CHECK(porta_head_create(&head, model, &ho));
  porta_param params[512];
  porta_tensor *tensors[512];
  bool decay[512];
  int n;
  CHECK(porta_model_parameters(model, head, params, 512, &n));
  for (int i = 0; i < n; i++) {
    tensors[i] = params[i].tensor;
    decay[i] = params[i].weight_decay;
  }
  porta_adamw_options ao;
  porta_adamw_options_init(&ao);
  CHECK(porta_adamw_create(&opt, ctx, tensors, n, decay, &ao));
  porta_tokenizer *tok;
  if (porta_tokenizer_load(&tok, argv[1], err, sizeof err) != PORTA_OK) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  const char *texts[2] = {"area man wins lottery, buys more tickets", "stocks fell on tuesday"};
  size_t lens[2] = {strlen(texts[0]), strlen(texts[1])};
  int32_t ids[2 * 32], mask[2 * 32], labels[2] = {1, 0};
  int seq_len;
  if (porta_tokenizer_encode_batch(tok, ids, mask, 2 * 32, &seq_len, texts, lens, 2, 32, err,
                                   sizeof err) != PORTA_OK) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  porta_model_input in = {ids, mask, NULL, labels, 2, seq_len};
  for (int step = 0; step < 3; step++) {
    porta_model_output out;
    CHECK(porta_model_classify(&out, model, head, &in, NULL));
    float loss;
    CHECK(porta_tensor_download(out.loss, &loss, 1));
    CHECK(porta_backward(out.loss));
    CHECK(porta_optimizer_step(opt, ao.lr));
    CHECK(porta_optimizer_zero_grad(opt));
    porta_release_temporaries(ctx);
    printf("%s step %d loss %.4f\n", porta_backend_name(porta_context_backend(ctx)), step, loss);
  }
  porta_tokenizer_free(tok);
  porta_optimizer_free(opt);
  porta_head_free(head);
  porta_model_free(model);
  porta_context_destroy(ctx);
  return 0;
}
