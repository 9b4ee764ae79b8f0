/* Profile of one MiniLM training step (body + the seed's head: dropout 0.1 on token 0 + linear to
 * 2, cross-entropy, AdamW) or eval forward: wall time per step, the per-op profile of the last
 * steps, the process CPU time, and the allocator's driver calls after each step (they must stay
 * flat after step 1). Not part of the build; compile by hand against a build's shared library:
 *   gcc -O2 -std=c11 -Iinclude -Isrc bench/graph_profile.c -Lbuild-x -lporta \
 *       -Wl,-rpath,$PWD/build-x -o build-x/graph_profile
 *   PORTA_PROFILE=1 build-x/graph_profile models/all-MiniLM-L6-v2 train 32 4 \
 *       [cpu|opencl|vulkan [threads]]
 * bench/graph_profile_torch.py runs the same step in PyTorch. On a loaded machine compare the best
 * CPU time per step with one thread on both sides (OPENBLAS_NUM_THREADS=1, threads 1).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "porta/porta.h"

static double clock_ms(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}
static double now_ms(void) { return clock_ms(CLOCK_MONOTONIC); }
/* CPU time of all the process's threads: on a loaded machine it moves less than wall time */
static double cpu_ms(void) { return clock_ms(CLOCK_PROCESS_CPUTIME_ID); }

#define CHECK(call)                                                                                \
  do {                                                                                             \
    porta_status st_ = (call);                                                                     \
    if (st_ != PORTA_OK) {                                                                         \
      fprintf(stderr, "%s failed: %s\n", #call, ctx ? porta_last_error(ctx) : "");                 \
      return 1;                                                                                    \
    }                                                                                              \
  } while (0)

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s MODEL_DIR train|eval SEQ STEPS [cpu|opencl|vulkan [THREADS]]\n",
            argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  int train = !strcmp(argv[2], "train"), seq = atoi(argv[3]), steps = atoi(argv[4]), batch = 32;
  porta_context_options o;
  porta_context_options_init(&o);
  o.backend = PORTA_BACKEND_CPU;
  if (argc > 5 && !strcmp(argv[5], "opencl")) o.backend = PORTA_BACKEND_OPENCL;
  if (argc > 5 && !strcmp(argv[5], "vulkan")) o.backend = PORTA_BACKEND_VULKAN;
  if (argc > 6) o.num_threads = atoi(argv[6]);
  porta_context *ctx = NULL;
  char err[1024];
  if (porta_context_create(&ctx, &o, err, sizeof err) != PORTA_OK) {
    fprintf(stderr, "context: %s\n", err);
    return 1;
  }
  porta_model *m;
  porta_head *h;
  porta_optimizer *opt = NULL;
  CHECK(porta_model_load(&m, ctx, dir));
  porta_head_options ho;
  porta_head_options_init(&ho);
  ho.kind = PORTA_HEAD_CLS;
  ho.num_labels = 2;
  ho.dropout = 0.1f;
  CHECK(porta_head_create(&h, m, &ho));
  int n = 0;
  CHECK(porta_model_parameters(m, h, NULL, 0, &n));
  porta_param *params = calloc((size_t)n, sizeof *params);
  porta_tensor **ts = calloc((size_t)n, sizeof *ts);
  bool *decay = calloc((size_t)n, sizeof *decay);
  CHECK(porta_model_parameters(m, h, params, n, &n));
  for (int i = 0; i < n; i++) ts[i] = params[i].tensor, decay[i] = params[i].weight_decay;
  porta_adamw_options ao;
  porta_adamw_options_init(&ao);
  if (train) CHECK(porta_adamw_create(&opt, ctx, ts, n, decay, &ao));
  int32_t *ids = malloc(sizeof(int32_t) * (size_t)(batch * seq)), labels[32];
  uint64_t r = 99;
  for (int i = 0; i < batch * seq; i++) {
    r ^= r << 13, r ^= r >> 7, r ^= r << 17;
    ids[i] = (int32_t)(1000 + r % 29000);
  }
  for (int b = 0; b < batch; b++) labels[b] = b % 2;
  porta_model_input in = {0};
  in.input_ids = ids;
  in.labels = labels;
  in.batch = batch;
  in.seq_len = seq;
  porta_set_training(ctx, train);
  double total = 0, best = 1e30, best_cpu = 1e30;
  int timed = 0;
  for (int s = 0; s < steps; s++) {
    if (s == 2) porta_profile_reset(ctx);
    double t0 = now_ms(), c0 = cpu_ms();
    porta_model_output out;
    float loss = 0;
    if (train) {
      CHECK(porta_model_classify(&out, m, h, &in, NULL));
      CHECK(porta_backward(out.loss));
      CHECK(porta_optimizer_step(opt, 5e-5f));
      CHECK(porta_optimizer_zero_grad(opt));
      CHECK(porta_tensor_download(out.loss, &loss, 1));
    } else {
      porta_no_grad_begin(ctx);
      CHECK(porta_model_classify(&out, m, h, &in, NULL));
      porta_no_grad_end(ctx);
      CHECK(porta_synchronize(ctx));
    }
    porta_release_temporaries(ctx);
    double ms = now_ms() - t0, cms = cpu_ms() - c0;
    if (s >= 2) total += ms, timed++;
    if (s >= 2 && ms < best) best = ms;
    if (s >= 2 && cms < best_cpu) best_cpu = cms;
    porta_memory_stats ms_;
    porta_memory_stats_get(ctx, &ms_);
    printf("step %d: %.1f ms (%.1f seq/s), cpu %.1f ms, loss %.5f driver_allocs %llu "
           "peak %.0f MiB\n",
           s, ms, batch / (ms * 1e-3), cms, loss, (unsigned long long)ms_.driver_allocs,
           ms_.peak_bytes / 1048576.0);
  }
  if (timed)
    printf("steps 2..: mean %.1f ms (%.1f seq/s), best %.1f ms (%.1f seq/s), best cpu %.1f ms\n",
           total / timed, batch * timed / (total * 1e-3), best, batch / (best * 1e-3), best_cpu);
  char rep[16384];
  if (porta_profile_report(ctx, rep, sizeof rep) == PORTA_OK) printf("%s\n", rep);
  porta_optimizer_free(opt);
  porta_head_free(h);
  porta_model_free(m);
  free(params), free(ts), free(decay), free(ids);
  porta_context_destroy(ctx);
  return 0;
}
