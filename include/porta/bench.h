/* porta — public API section: benchmarks (included by porta/porta.h). `porta bench` is built on
 * these calls; each measures one figure on a context's device after warm-up and reports the median
 * of repeated runs. Device time comes from the backend's own timers (OpenCL profiling events,
 * Vulkan timestamp queries, a clock on the CPU) when the context was created with profiling on,
 * else from the host clock around a synchronised run. Inputs are random, never all zeros. */
#ifndef PORTA_BENCH_H
#define PORTA_BENCH_H

#include "porta/porta.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct porta_bench_result {
  char section[16];        /* "peak", "gemm", "attention", "train_step", "eval_forward" */
  char name[160];          /* "fma", "bandwidth", "gemm 4096x384x1536 NT b1", ... */
  int64_t m, n, k, batch;  /* gemm: sizes; attention: m = heads, n = seq, k = head_dim */
  int64_t seq;             /* train/eval: sequence length (batch in `batch`) */
  double median_ms;        /* one run */
  double value;            /* in unit */
  char unit[16];           /* "GFLOP/s", "GB/s", "seq/s" */
  double tokens_per_s;     /* train/eval */
  double fraction_of_peak; /* value / measured peak (GFLOP/s rows; MFU for train steps); < 0 n/a */
  double peak_device_mb;   /* train/eval/mixed: the allocator's peak of live bytes (MiB) */
  double peak_held_mb;     /* train/eval/mixed: the peak of live + cached bytes (MiB) */
  bool device_timer;       /* median_ms came from the backend's timers */
  int repeat;
} porta_bench_result;

/* An f32 sum all-reduce of bytes over comm's ranks (collective: every rank calls it): the
 * slowest rank's median time and the bus bandwidth, busbw = bytes / time · 2(n-1)/n (what
 * nccl-tests reports; the ring's per-link traffic). On failure porta_comm_last_error says why. */
PORTA_API porta_status porta_bench_allreduce(porta_comm *comm, size_t bytes, int repeat,
                                             porta_bench_result *out);

/* Achievable f32 FMA throughput (GFLOP/s) and device-memory copy bandwidth (GB/s, read + write).
 * fma->value is 0 and unit "n/a" when the backend has no bench kernel. */
PORTA_API porta_status porta_bench_peak(porta_context *ctx, int repeat, porta_bench_result *fma,
                                        porta_bench_result *bandwidth);

/* C = op(A)·op(B) for batch matrices, m×n×k. */
PORTA_API porta_status porta_bench_gemm(porta_context *ctx, int64_t m, int64_t n, int64_t k,
                                        int64_t batch, bool trans_a, bool trans_b, int repeat,
                                        porta_bench_result *out);

/* porta_attention over [batch, heads, seq, head_dim] with a padding mask; backward = the extra
 * time of the backward pass (forward + backward - forward). */
PORTA_API porta_status porta_bench_attention(porta_context *ctx, int64_t batch, int64_t heads,
                                             int64_t seq, int64_t head_dim, bool backward,
                                             int repeat, porta_bench_result *out);

/* A full training step (forward + cross-entropy + backward + AdamW) of a body with random weights
 * of config cfg + the seed's head (dropout 0.1 on token 0 + linear to 2 labels), or the eval
 * forward under no_grad when train is false. MFU: (6·params·tokens + attention flops) over the
 * measured peak when one is given (peak_gflops > 0). */
PORTA_API porta_status porta_bench_model_step(porta_context *ctx, const porta_model_config *cfg,
                                              int batch, int seq, bool train, int repeat,
                                              double peak_gflops, porta_bench_result *out);

/* The memory of a real epoch, not one shape: `steps` training steps of batch rows whose padded
 * length changes every step like a length-bucketed epoch of headlines (8..40 tokens, every 50th
 * step 48..64), from an emptied cache. value: seq/s over the slice (host clock); seq: the mean
 * length; peak_device_mb / peak_held_mb: this slice's peaks of live and of live + cached bytes;
 * the name gives the driver allocations the slice made. */
PORTA_API porta_status porta_bench_mixed_slice(porta_context *ctx, const porta_model_config *cfg, int batch,
                                     int steps, porta_bench_result *out);

#ifdef __cplusplus
}
#endif

#endif
