/* Benchmarks behind `porta bench` (include/porta/bench.h): device peaks, GEMM, attention and whole
 * training / eval steps. The peak kernel and the backend's timers are reached through the core's
 * checked calls (porta_be_bench_fma, porta_be_device_ns): a benchmark has to see the device, not
 * only the tensor API, but never the backend's vtable itself. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h"
#include "porta/porta.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef porta_status (*bench_fn)(porta_context *ctx, void *arg);

/* Runs fn twice to warm up (kernel builds, allocator), then `repeat` times; the median time of one
 * run in ms, from the device timers when they are on, else the host clock around a synchronised
 * run. */
static porta_status time_runs(porta_context *ctx, bench_fn fn, void *arg, int repeat,
                              bool allow_device_timer, double *median_ms, bool *device_timer) {
  if (repeat < 1) repeat = 1;
  porta_status st;
  for (int i = 0; i < 2; i++) {
    if ((st = fn(ctx, arg)) != PORTA_OK) return st;
    porta_release_temporaries(ctx);
  }
  if ((st = porta_synchronize(ctx)) != PORTA_OK) return st;
  double *ms = malloc(sizeof(double) * (size_t)repeat);
  if (!ms) return porta_fail(ctx, PORTA_ERR_OUT_OF_MEMORY, "porta_bench: out of host memory");
  uint64_t before = 0, after = 0;
  bool dev = allow_device_timer && porta_be_device_ns(ctx, &before);
  for (int i = 0; i < repeat; i++) {
    double t0 = now_ms();
    if (dev) porta_be_device_ns(ctx, &before);
    st = fn(ctx, arg);
    if (st == PORTA_OK) st = porta_synchronize(ctx);
    if (st != PORTA_OK) {
      free(ms);
      return st;
    }
    if (dev && porta_be_device_ns(ctx, &after))
      ms[i] = (double)(after - before) * 1e-6;
    else
      ms[i] = now_ms() - t0;
    porta_release_temporaries(ctx);
  }
  *median_ms = median(ms, repeat);
  *device_timer = dev;
  free(ms);
  return PORTA_OK;
}

static void result_init(porta_bench_result *r, const char *section, int repeat) {
  memset(r, 0, sizeof *r);
  snprintf(r->section, sizeof r->section, "%s", section);
  r->fraction_of_peak = -1;
  r->repeat = repeat;
}

static porta_status random_tensor(porta_context *ctx, porta_tensor **out, int ndim,
                                  const int64_t *shape, uint64_t seed) {
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) n *= shape[i];
  float *h = malloc(sizeof(float) * (size_t)n);
  if (!h) return porta_fail(ctx, PORTA_ERR_OUT_OF_MEMORY, "porta_bench: out of host memory");
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int64_t i = 0; i < n; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    h[i] = (float)((s >> 40) * (1.0 / 16777216.0)) - 0.5f;
  }
  porta_status st = porta_tensor_from_host(ctx, out, PORTA_F32, ndim, shape, h);
  free(h);
  return st;
}

/* ---- peak ----------------------------------------------------------------------------------- */

typedef struct fma_arg {
  porta_tensor *out;
  int iters;
} fma_arg;

static porta_status run_fma(porta_context *ctx, void *p) {
  fma_arg *a = p;
  return porta_be_bench_fma(ctx, "porta_bench_peak", porta_tensor_ref(a->out), a->out->numel,
                            a->iters);
}

typedef struct copy_arg {
  porta_tensor *src, *dst;
} copy_arg;

static porta_status run_copy(porta_context *ctx, void *p) {
  copy_arg *a = p;
  return porta_tensor_copy(a->dst, a->src);
}

porta_status porta_bench_peak(porta_context *ctx, int repeat, porta_bench_result *fma,
                              porta_bench_result *bandwidth) {
  if (!ctx || !fma || !bandwidth) return PORTA_ERR_INVALID_ARGUMENT;
  result_init(fma, "peak", repeat);
  result_init(bandwidth, "peak", repeat);
  snprintf(fma->name, sizeof fma->name, "fma f32");
  snprintf(bandwidth->name, sizeof bandwidth->name, "copy bandwidth");
  porta_status st = PORTA_OK;
  bool dev;
  if (porta_be_has_bench_fma(ctx)) {
    /* Enough items to fill any device, enough iterations to hide launch costs. */
    int64_t n = (int64_t)1 << 20;
    int iters = porta_context_device(ctx)->is_cpu ? 64 : 1024;
    fma_arg a = {NULL, iters};
    if ((st = porta_tensor_new(ctx, &a.out, PORTA_F32, 1, &n)) != PORTA_OK) return st;
    st = time_runs(ctx, run_fma, &a, repeat, false, &fma->median_ms, &dev);
    porta_tensor_free(a.out);
    if (st != PORTA_OK) return st;
    fma->value = (double)n * iters * 16.0 / (fma->median_ms * 1e-3) * 1e-9;
    snprintf(fma->unit, sizeof fma->unit, "GFLOP/s");
  } else {
    snprintf(fma->unit, sizeof fma->unit, "n/a");
  }
  /* 64 MiB each way: past every cache. */
  int64_t n = (int64_t)16 << 20;
  copy_arg c = {NULL, NULL};
  st = random_tensor(ctx, &c.src, 1, &n, 7);
  if (st == PORTA_OK) st = porta_tensor_new(ctx, &c.dst, PORTA_F32, 1, &n);
  if (st == PORTA_OK) st = time_runs(ctx, run_copy, &c, repeat, false, &bandwidth->median_ms, &dev);
  porta_tensor_free(c.src);
  porta_tensor_free(c.dst);
  if (st != PORTA_OK) return st;
  bandwidth->value = 2.0 * (double)n * 4 / (bandwidth->median_ms * 1e-3) * 1e-9;
  snprintf(bandwidth->unit, sizeof bandwidth->unit, "GB/s");
  return PORTA_OK;
}

/* ---- gemm ----------------------------------------------------------------------------------- */

typedef struct gemm_arg {
  porta_tensor *a, *b;
  bool ta, tb;
} gemm_arg;

static porta_status run_gemm(porta_context *ctx, void *p) {
  gemm_arg *g = p;
  porta_tensor *c;
  return porta_matmul(&c, g->a, g->b, g->ta, g->tb);
}

porta_status porta_bench_gemm(porta_context *ctx, int64_t m, int64_t n, int64_t k, int64_t batch,
                              bool trans_a, bool trans_b, int repeat, porta_bench_result *out) {
  if (!ctx || !out || m < 1 || n < 1 || k < 1 || batch < 1) return PORTA_ERR_INVALID_ARGUMENT;
  result_init(out, "gemm", repeat);
  out->m = m, out->n = n, out->k = k, out->batch = batch;
  snprintf(out->name, sizeof out->name, "gemm %lldx%lldx%lld %c%c b%lld", (long long)m,
           (long long)n, (long long)k, trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', (long long)batch);
  int64_t sa[3] = {batch, trans_a ? k : m, trans_a ? m : k};
  int64_t sb[3] = {batch, trans_b ? n : k, trans_b ? k : n};
  gemm_arg g = {NULL, NULL, trans_a, trans_b};
  porta_no_grad_begin(ctx);
  porta_status st = random_tensor(ctx, &g.a, batch > 1 ? 3 : 2, batch > 1 ? sa : sa + 1, 1);
  if (st == PORTA_OK) st = random_tensor(ctx, &g.b, batch > 1 ? 3 : 2, batch > 1 ? sb : sb + 1, 2);
  if (st == PORTA_OK)
    st = time_runs(ctx, run_gemm, &g, repeat, true, &out->median_ms, &out->device_timer);
  porta_no_grad_end(ctx);
  porta_tensor_free(g.a);
  porta_tensor_free(g.b);
  if (st != PORTA_OK) return st;
  out->value = 2.0 * m * n * k * batch / (out->median_ms * 1e-3) * 1e-9;
  snprintf(out->unit, sizeof out->unit, "GFLOP/s");
  return PORTA_OK;
}

/* ---- attention ------------------------------------------------------------------------------ */

typedef struct attn_arg {
  porta_tensor *q, *k, *v, *mask;
  bool backward;
} attn_arg;

static porta_status run_attention(porta_context *ctx, void *p) {
  attn_arg *a = p;
  porta_tensor *o, *loss;
  porta_status st = porta_attention(&o, NULL, a->q, a->k, a->v, a->mask);
  if (st != PORTA_OK || !a->backward) return st;
  if ((st = porta_sum_all(&loss, o)) != PORTA_OK) return st;
  return porta_backward(loss);
}

porta_status porta_bench_attention(porta_context *ctx, int64_t batch, int64_t heads, int64_t seq,
                                   int64_t head_dim, bool backward, int repeat,
                                   porta_bench_result *out) {
  if (!ctx || !out || batch < 1 || heads < 1 || seq < 1 || head_dim < 1)
    return PORTA_ERR_INVALID_ARGUMENT;
  result_init(out, "attention", repeat);
  out->batch = batch, out->m = heads, out->n = seq, out->k = head_dim, out->seq = seq;
  snprintf(out->name, sizeof out->name, "attention %s B%lld H%lld S%lld D%lld",
           backward ? "bwd" : "fwd", (long long)batch, (long long)heads, (long long)seq,
           (long long)head_dim);
  int64_t shape[4] = {batch, heads, seq, head_dim}, mshape[2] = {batch, seq};
  attn_arg a = {NULL, NULL, NULL, NULL, false};
  porta_status st = random_tensor(ctx, &a.q, 4, shape, 11);
  if (st == PORTA_OK) st = random_tensor(ctx, &a.k, 4, shape, 12);
  if (st == PORTA_OK) st = random_tensor(ctx, &a.v, 4, shape, 13);
  float *mask = calloc((size_t)(batch * seq), sizeof(float));
  if (st == PORTA_OK && !mask) st = porta_fail(ctx, PORTA_ERR_OUT_OF_MEMORY, "porta_bench: host");
  if (st == PORTA_OK) {
    for (int64_t b = 0; b < batch; b++) /* pad the last quarter of every other row */
      for (int64_t s = seq - seq / 4; s < seq && b % 2; s++) mask[b * seq + s] = -1e9f;
    st = porta_tensor_from_host(ctx, &a.mask, PORTA_F32, 2, mshape, mask);
  }
  free(mask);
  double fwd_ms = 0;
  bool dev = false;
  if (st == PORTA_OK) {
    porta_no_grad_begin(ctx);
    st = time_runs(ctx, run_attention, &a, repeat, true, &fwd_ms, &dev);
    porta_no_grad_end(ctx);
  }
  if (st == PORTA_OK && backward) {
    double both_ms = 0;
    porta_tensor_set_requires_grad(a.q, true);
    porta_tensor_set_requires_grad(a.k, true);
    porta_tensor_set_requires_grad(a.v, true);
    a.backward = true;
    st = time_runs(ctx, run_attention, &a, repeat, true, &both_ms, &dev);
    out->median_ms = both_ms - fwd_ms > 0 ? both_ms - fwd_ms : both_ms;
  } else {
    out->median_ms = fwd_ms;
  }
  out->device_timer = dev;
  porta_tensor_free(a.q);
  porta_tensor_free(a.k);
  porta_tensor_free(a.v);
  porta_tensor_free(a.mask);
  if (st != PORTA_OK) return st;
  /* Forward: QKᵀ and PV, 2·S·S·D flops each per (batch, head); backward: twice that. */
  double flops = 4.0 * batch * heads * seq * seq * head_dim * (backward ? 2.0 : 1.0);
  out->value = flops / (out->median_ms * 1e-3) * 1e-9;
  snprintf(out->unit, sizeof out->unit, "GFLOP/s");
  return PORTA_OK;
}

/* ---- training / eval step ------------------------------------------------------------------ */

typedef struct step_arg {
  porta_model *model;
  porta_head *head;
  porta_optimizer *opt;
  porta_param *params;
  int n_params;
  porta_model_input in;
  bool train;
} step_arg;

static porta_status run_step(porta_context *ctx, void *p) {
  step_arg *s = p;
  porta_model_output out;
  porta_status st;
  if (!s->train) {
    porta_set_training(ctx, false);
    porta_no_grad_begin(ctx);
    st = porta_model_classify(&out, s->model, s->head, &s->in, NULL);
    porta_no_grad_end(ctx);
    porta_set_training(ctx, true);
    return st;
  }
  if ((st = porta_model_classify(&out, s->model, s->head, &s->in, NULL)) != PORTA_OK) return st;
  if ((st = porta_backward(out.loss)) != PORTA_OK) return st;
  if ((st = porta_optimizer_step(s->opt, 5e-5f)) != PORTA_OK) return st;
  if ((st = porta_optimizer_zero_grad(s->opt)) != PORTA_OK) return st;
  float loss; /* the one value a training step brings back */
  return porta_tensor_download(out.loss, &loss, 1);
}

/* Body with random weights + the seed's head (+ AdamW when training); *matmul_params receives the
 * parameters that take part in matmuls. */
static porta_status step_setup(porta_context *ctx, const porta_model_config *cfg, bool train,
                               step_arg *s, double *matmul_params) {
  memset(s, 0, sizeof *s);
  s->train = train;
  *matmul_params = 0;
  porta_status st = porta_model_create(&s->model, ctx, cfg, 1234);
  if (st == PORTA_OK) {
    porta_head_options ho;
    porta_head_options_init(&ho);
    ho.kind = PORTA_HEAD_CLS;
    ho.num_labels = 2;
    ho.dropout = 0.1f;
    st = porta_head_create(&s->head, s->model, &ho);
  }
  if (st == PORTA_OK) st = porta_model_parameters(s->model, s->head, NULL, 0, &s->n_params);
  if (st == PORTA_OK && !(s->params = calloc((size_t)s->n_params, sizeof *s->params)))
    st = porta_fail(ctx, PORTA_ERR_OUT_OF_MEMORY, "porta_bench: host");
  if (st == PORTA_OK)
    st = porta_model_parameters(s->model, s->head, s->params, s->n_params, &s->n_params);
  if (st == PORTA_OK && train) {
    porta_tensor **t = calloc((size_t)s->n_params, sizeof *t);
    bool *decay = calloc((size_t)s->n_params, sizeof *decay);
    if (!t || !decay) st = porta_fail(ctx, PORTA_ERR_OUT_OF_MEMORY, "porta_bench: host");
    for (int i = 0; st == PORTA_OK && i < s->n_params; i++)
      t[i] = s->params[i].tensor, decay[i] = s->params[i].weight_decay;
    porta_adamw_options ao;
    porta_adamw_options_init(&ao);
    if (st == PORTA_OK) st = porta_adamw_create(&s->opt, ctx, t, s->n_params, decay, &ao);
    free(t);
    free(decay);
  }
  for (int i = 0; st == PORTA_OK && i < s->n_params; i++)
    if (!strstr(s->params[i].name, "embeddings")) /* embeddings are lookups, not matmuls */
      *matmul_params += (double)porta_tensor_numel(s->params[i].tensor);
  return st;
}

static void step_free(step_arg *s) {
  porta_optimizer_free(s->opt);
  free(s->params);
  porta_head_free(s->head);
  porta_model_free(s->model);
}

/* Random ids in the upper vocabulary (no special tokens) for batch rows of seq tokens. */
static void random_ids(int32_t *ids, int n, const porta_model_config *cfg, uint64_t seed) {
  uint64_t r = seed;
  for (int i = 0; i < n; i++) {
    r ^= r << 13, r ^= r >> 7, r ^= r << 17;
    int64_t lo = cfg->vocab_size > 2000 ? 1000 : 3;
    ids[i] = (int32_t)(lo + (int64_t)(r % (uint64_t)(cfg->vocab_size - lo)));
  }
}

porta_status porta_bench_model_step(porta_context *ctx, const porta_model_config *cfg, int batch,
                                    int seq, bool train, int repeat, double peak_gflops,
                                    porta_bench_result *out) {
  if (!ctx || !cfg || !out || batch < 1 || seq < 2) return PORTA_ERR_INVALID_ARGUMENT;
  result_init(out, train ? "train_step" : "eval_forward", repeat);
  out->batch = batch, out->seq = seq;
  snprintf(out->name, sizeof out->name, "%s %s b%d s%d", train ? "train" : "eval", cfg->model_type,
           batch, seq);
  step_arg s;
  int32_t *ids = malloc(sizeof(int32_t) * (size_t)batch * (size_t)seq);
  int32_t *labels = malloc(sizeof(int32_t) * (size_t)batch);
  double matmul_params = 0;
  porta_status st = step_setup(ctx, cfg, train, &s, &matmul_params);
  if (st == PORTA_OK && (!ids || !labels))
    st = porta_fail(ctx, PORTA_ERR_OUT_OF_MEMORY, "porta_bench: host");
  if (st == PORTA_OK) {
    random_ids(ids, batch * seq, cfg, 99);
    for (int b = 0; b < batch; b++) labels[b] = b % 2;
    s.in.input_ids = ids;
    s.in.labels = labels;
    s.in.batch = batch;
    s.in.seq_len = seq;
    st = time_runs(ctx, run_step, &s, repeat, false, &out->median_ms, &out->device_timer);
  }
  if (st == PORTA_OK) {
    porta_memory_stats ms;
    porta_memory_stats_get(ctx, &ms);
    out->peak_device_mb = (double)ms.peak_bytes / (1024.0 * 1024.0);
    out->peak_held_mb = (double)ms.peak_held_bytes / (1024.0 * 1024.0);
    out->value = batch / (out->median_ms * 1e-3);
    out->tokens_per_s = out->value * seq;
    snprintf(out->unit, sizeof out->unit, "seq/s");
    double tokens = (double)batch * seq;
    double attn = 4.0 * cfg->num_hidden_layers * batch * (double)seq * seq * cfg->hidden_size;
    double flops =
        train ? 6.0 * matmul_params * tokens + 3.0 * attn : 2.0 * matmul_params * tokens + attn;
    if (peak_gflops > 0)
      out->fraction_of_peak = flops / (out->median_ms * 1e-3) * 1e-9 / peak_gflops;
  }
  step_free(&s);
  free(ids);
  free(labels);
  return st;
}

/* The padded length of step i of the mixed slice: bucketed batches of headline-like rows (the
 * demo's are 8..40 tokens, one in 50 longer), in a fixed pseudo-random order. */
static int mixed_length(int i) {
  uint64_t r = (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ull;
  r ^= r >> 29;
  if (i % 50 == 49) return 48 + (int)(r % 17);
  return 8 + (int)(r % 33);
}

porta_status porta_bench_mixed_slice(porta_context *ctx, const porta_model_config *cfg, int batch,
                                     int steps, porta_bench_result *out) {
  if (!ctx || !cfg || !out || batch < 1 || steps < 1) return PORTA_ERR_INVALID_ARGUMENT;
  result_init(out, "train_mixed", steps);
  out->batch = batch;
  int longest = 64;
  step_arg s;
  int32_t *ids = malloc(sizeof(int32_t) * (size_t)batch * (size_t)longest);
  int32_t *labels = malloc(sizeof(int32_t) * (size_t)batch);
  double matmul_params = 0;
  porta_status st = step_setup(ctx, cfg, true, &s, &matmul_params);
  if (st == PORTA_OK && (!ids || !labels))
    st = porta_fail(ctx, PORTA_ERR_OUT_OF_MEMORY, "porta_bench: host");
  /* this slice's own peaks: the cache and the peaks of earlier figures do not count */
  porta_allocator_trim(ctx);
  ctx->alloc.peak_bytes = ctx->alloc.live_bytes;
  ctx->alloc.peak_held_bytes = ctx->alloc.live_bytes;
  uint64_t allocs = ctx->alloc.driver_allocs;
  int64_t tokens = 0;
  double t0 = now_ms();
  for (int i = 0; st == PORTA_OK && i < steps; i++) {
    int seq = mixed_length(i);
    random_ids(ids, batch * seq, cfg, 99 + (uint64_t)i);
    for (int b = 0; b < batch; b++) labels[b] = (b + i) % 2;
    s.in = (porta_model_input){ids, NULL, NULL, labels, batch, seq};
    st = run_step(ctx, &s);
    porta_release_temporaries(ctx);
    tokens += (int64_t)batch * seq;
  }
  if (st == PORTA_OK) st = porta_synchronize(ctx);
  double ms = now_ms() - t0;
  if (st == PORTA_OK) {
    out->median_ms = ms / steps;
    out->value = (double)batch * steps / (ms * 1e-3);
    out->tokens_per_s = (double)tokens / (ms * 1e-3);
    out->seq = tokens / ((int64_t)batch * steps);
    snprintf(out->unit, sizeof out->unit, "seq/s");
    snprintf(out->name, sizeof out->name, "train %s b%d mixed s8..64 (%d steps, %llu allocs)",
             cfg->model_type, batch, steps,
             (unsigned long long)(ctx->alloc.driver_allocs - allocs));
    out->peak_device_mb = (double)ctx->alloc.peak_bytes / (1024.0 * 1024.0);
    out->peak_held_mb = (double)ctx->alloc.peak_held_bytes / (1024.0 * 1024.0);
  }
  step_free(&s);
  free(ids);
  free(labels);
  return st;
}
