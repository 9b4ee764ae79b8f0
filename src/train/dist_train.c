/* Data-parallel training hooks (see dist_train.h): shards, gradient buckets, the step's
 * all-reduce, sharded evaluation. The trainer calls these; only porta_comm talks to MPI. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/core.h" /* a rank without rows in a step still needs .grad to receive the sum */
#include "train/dist_train.h"
#include "train/train_internal.h"

/* A run of parameters, in reverse order of the model's list (the backward pass produces the
 * head's gradients first), whose gradients travel as one all-reduce. */
typedef struct grad_bucket {
  int first, last; /* parameters [first, last) of the trainer's list */
  size_t elems;
  float *host;
  porta_comm_request *request;
} grad_bucket;

struct porta_dist_trainer {
  porta_comm *comm;
  int rank, size;
  porta_context *ctx;
  porta_tensor **params;
  int count;
  size_t *offset; /* [count] element offset of each parameter in its bucket */
  int *bucket_of; /* [count] */
  grad_bucket *buckets;
  int bucket_count;
  double *meta_sum; /* [1 + count]: the step's loss share, then 1 per parameter with a gradient */
  int64_t meta_max[2]; /* dropout stream, cancel */
  porta_dist_stats stats;
  char err[640];
};

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static porta_status comm_failed(porta_dist_trainer *d, porta_status st) {
  porta_pathf(d->err, sizeof d->err, "%s", porta_comm_last_error(d->comm));
  return st;
}
static porta_status device_failed(porta_dist_trainer *d, porta_status st, const char *what) {
  porta_pathf(d->err, sizeof d->err, "rank %d of %d: %s: %s", d->rank, d->size, what,
              porta_last_error(d->ctx));
  return st;
}

const char *porta_dist_error(const porta_dist_trainer *d) { return d ? d->err : ""; }
bool porta_dist_is_root(const porta_dist_trainer *d) { return !d || d->rank == 0; }

void porta_dist_trainer_free(porta_dist_trainer *d) {
  if (!d) return;
  for (int b = 0; b < d->bucket_count; b++) free(d->buckets[b].host);
  free(d->buckets), free(d->offset), free(d->bucket_of), free(d->meta_sum);
  free(d);
}

/* Rank 0's parameter values to every rank, bucket by bucket through the host buffers. */
static porta_status broadcast_params(porta_dist_trainer *d) {
  for (int b = 0; b < d->bucket_count; b++) {
    grad_bucket *k = &d->buckets[b];
    porta_status st = PORTA_OK;
    for (int i = k->first; st == PORTA_OK && i < k->last && d->rank == 0; i++)
      st = porta_tensor_download(d->params[i], k->host + d->offset[i],
                                 (size_t)porta_tensor_numel(d->params[i]));
    if (st != PORTA_OK) return device_failed(d, st, "reading the parameters");
    st = porta_comm_broadcast(d->comm, k->host, k->elems * sizeof(float), 0);
    if (st != PORTA_OK) return comm_failed(d, st);
    for (int i = k->first; st == PORTA_OK && i < k->last && d->rank != 0; i++)
      st = porta_tensor_upload(d->params[i], k->host + d->offset[i],
                               (size_t)porta_tensor_numel(d->params[i]));
    if (st != PORTA_OK) return device_failed(d, st, "writing the parameters");
  }
  return PORTA_OK;
}

porta_status porta_dist_trainer_create(porta_dist_trainer **out, porta_comm *comm,
                                       porta_context *ctx, porta_tensor **params, int count,
                                       size_t bucket_bytes, char *err, size_t err_size) {
  *out = NULL;
  if (porta_comm_size(comm) <= 1) return PORTA_OK;
  porta_dist_trainer *d = calloc(1, sizeof *d);
  if (!d) return porta_train_fail(err, err_size, PORTA_ERR_OUT_OF_MEMORY, "out of memory");
  d->comm = comm;
  d->rank = porta_comm_rank(comm);
  d->size = porta_comm_size(comm);
  d->ctx = ctx;
  d->params = params;
  d->count = count;
  d->offset = calloc((size_t)(count ? count : 1), sizeof *d->offset);
  d->bucket_of = calloc((size_t)(count ? count : 1), sizeof *d->bucket_of);
  d->buckets = calloc((size_t)(count ? count : 1), sizeof *d->buckets);
  d->meta_sum = calloc((size_t)count + 1, sizeof *d->meta_sum);
  bool ok = d->offset && d->bucket_of && d->buckets && d->meta_sum;
  /* buckets from the last parameter back, each closed once it holds bucket_bytes */
  size_t limit = bucket_bytes ? bucket_bytes / sizeof(float) : ((size_t)25 << 20) / sizeof(float);
  for (int i = count - 1; ok && i >= 0; i--) {
    size_t n = (size_t)porta_tensor_numel(params[i]);
    grad_bucket *k = &d->buckets[d->bucket_count];
    if (k->elems > 0 && k->elems + n > limit) k = &d->buckets[++d->bucket_count];
    if (k->elems == 0) k->last = i + 1;
    k->first = i;
    d->offset[i] = k->elems;
    d->bucket_of[i] = (int)(k - d->buckets);
    k->elems += n;
  }
  if (count > 0) d->bucket_count++;
  /* offsets were counted from the bucket's last parameter: make them ascend from its first */
  for (int b = 0; ok && b < d->bucket_count; b++) {
    grad_bucket *k = &d->buckets[b];
    size_t off = 0;
    for (int i = k->first; i < k->last; i++) {
      d->offset[i] = off;
      off += (size_t)porta_tensor_numel(params[i]);
    }
    k->host = malloc(k->elems * sizeof(float));
    ok = k->host != NULL;
  }
  if (!ok) {
    porta_dist_trainer_free(d);
    return porta_train_fail(err, err_size, PORTA_ERR_OUT_OF_MEMORY,
                            "out of memory for the gradient buckets");
  }
  porta_status st = broadcast_params(d);
  if (st != PORTA_OK) {
    porta_train_fail(err, err_size, st, "%s", d->err);
    porta_dist_trainer_free(d);
    return st;
  }
  *out = d;
  return PORTA_OK;
}

void porta_dist_shard(const porta_dist_trainer *d, int64_t n, int64_t *first, int64_t *count) {
  if (!d) {
    *first = 0, *count = n;
    return;
  }
  int64_t a = n * d->rank / d->size, b = n * (d->rank + 1) / d->size;
  *first = a, *count = b - a;
}

int porta_dist_pad_length(const porta_dist_trainer *d, const porta_encoded_rows *enc,
                          const int64_t *rows, int64_t n) {
  if (!d) return 0;
  int longest = 1;
  for (int64_t i = 0; i < n; i++)
    if (enc->lengths[rows[i]] > longest) longest = enc->lengths[rows[i]];
  return longest;
}

porta_status porta_dist_after_micro(porta_dist_trainer *d, int64_t n) {
  if (!d || n >= d->size) return PORTA_OK; /* every rank had a row */
  int64_t stream = (int64_t)porta_rng_stream(d->ctx);
  porta_status st = porta_comm_allreduce(d->comm, &stream, 1, PORTA_COMM_I64, PORTA_COMM_MAX);
  if (st != PORTA_OK) return comm_failed(d, st);
  porta_set_rng_stream(d->ctx, (uint64_t)stream);
  return PORTA_OK;
}

/* Device -> bucket (zeros where no gradient reached a parameter on this rank). */
static porta_status stage_bucket(porta_dist_trainer *d, grad_bucket *k) {
  for (int i = k->first; i < k->last; i++) {
    porta_tensor *g = porta_tensor_grad(d->params[i]);
    size_t n = (size_t)porta_tensor_numel(d->params[i]);
    d->meta_sum[1 + i] = g ? 1.0 : 0.0;
    if (!g) {
      memset(k->host + d->offset[i], 0, n * sizeof(float));
      continue;
    }
    porta_status st = porta_tensor_download(g, k->host + d->offset[i], n);
    if (st != PORTA_OK) return device_failed(d, st, "reading a gradient");
  }
  return PORTA_OK;
}

/* Bucket -> device, for every parameter some rank had a gradient for. */
static porta_status unstage_bucket(porta_dist_trainer *d, grad_bucket *k) {
  for (int i = k->first; i < k->last; i++) {
    if (!(d->meta_sum[1 + i] > 0)) continue; /* on no rank: the optimizer skips it, as in torch */
    porta_tensor *p = d->params[i];
    porta_status st = PORTA_OK;
    if (!p->grad)
      st = porta_tensor_internal(d->ctx, &p->grad, PORTA_F32, p->ndim, p->shape, "gradient");
    if (st == PORTA_OK) st = porta_tensor_upload(p->grad, k->host + d->offset[i], (size_t)p->numel);
    if (st != PORTA_OK) return device_failed(d, st, "writing a gradient");
  }
  return PORTA_OK;
}

porta_status porta_dist_reduce_step(porta_dist_trainer *d, float *loss_sum, bool *cancel) {
  if (!d) return PORTA_OK;
  double t0 = now_seconds();
  porta_status st = PORTA_OK;
  for (int b = 0; st == PORTA_OK && b < d->bucket_count; b++) {
    grad_bucket *k = &d->buckets[b];
    st = stage_bucket(d, k);
    if (st == PORTA_OK) {
      st = porta_comm_allreduce_start(d->comm, k->host, k->elems, PORTA_COMM_F32, PORTA_COMM_SUM,
                                      &k->request);
      if (st != PORTA_OK) comm_failed(d, st);
    }
  }
  double t1 = now_seconds();
  d->meta_sum[0] = *loss_sum;
  d->meta_max[0] = (int64_t)porta_rng_stream(d->ctx);
  d->meta_max[1] = *cancel ? 1 : 0;
  if (st == PORTA_OK)
    st = porta_comm_allreduce(d->comm, d->meta_sum, (size_t)d->count + 1, PORTA_COMM_F64,
                              PORTA_COMM_SUM);
  if (st == PORTA_OK)
    st = porta_comm_allreduce(d->comm, d->meta_max, 2, PORTA_COMM_I64, PORTA_COMM_MAX);
  for (int b = 0; b < d->bucket_count; b++) {
    grad_bucket *k = &d->buckets[b];
    porta_status wst = porta_comm_wait(d->comm, k->request); /* frees it, also after a failure */
    k->request = NULL;
    if (st == PORTA_OK && wst != PORTA_OK) st = wst;
  }
  if (st != PORTA_OK) return d->err[0] ? st : comm_failed(d, st);
  double t2 = now_seconds();
  for (int b = 0; st == PORTA_OK && b < d->bucket_count; b++)
    st = unstage_bucket(d, &d->buckets[b]);
  *loss_sum = (float)d->meta_sum[0];
  *cancel = d->meta_max[1] != 0;
  porta_set_rng_stream(d->ctx, (uint64_t)d->meta_max[0]);
  d->stats.steps++;
  d->stats.stage_s += (t1 - t0) + (now_seconds() - t2);
  d->stats.wait_s += t2 - t1;
  for (int b = 0; b < d->bucket_count; b++) d->stats.bytes += (double)d->buckets[b].elems * 4;
  return st;
}

porta_status porta_dist_classify(porta_dist_trainer *d, porta_metrics *m, porta_model *model,
                                 porta_head *head, const porta_encoded_rows *enc,
                                 const int64_t *rows, int64_t count, int batch_size) {
  int64_t first, n;
  porta_dist_shard(d, count, &first, &n);
  porta_status st =
      porta_classify_rows(NULL, NULL, m, NULL, model, head, enc, rows + first, n, batch_size);
  if (!d) return st;
  if (st != PORTA_OK) return device_failed(d, st, "evaluating");
  /* confusion counts and the loss summed over the ranks; the scores recomputed from them */
  double loss_sum = m->loss * (double)m->count;
  size_t cells = (size_t)m->num_classes * (size_t)m->num_classes;
  st = porta_comm_allreduce(d->comm, m->confusion, cells, PORTA_COMM_I64, PORTA_COMM_SUM);
  if (st == PORTA_OK)
    st = porta_comm_allreduce(d->comm, &loss_sum, 1, PORTA_COMM_F64, PORTA_COMM_SUM);
  if (st != PORTA_OK) return comm_failed(d, st);
  porta_metrics_finish(m);
  m->loss = m->count ? loss_sum / (double)m->count : 0;
  return PORTA_OK;
}

porta_status porta_dist_barrier(porta_dist_trainer *d) {
  if (!d) return PORTA_OK;
  porta_status st = porta_comm_barrier(d->comm);
  return st == PORTA_OK ? st : comm_failed(d, st);
}

void porta_dist_get_stats(const porta_dist_trainer *d, porta_dist_stats *out) {
  memset(out, 0, sizeof *out);
  if (d) *out = d->stats;
}
