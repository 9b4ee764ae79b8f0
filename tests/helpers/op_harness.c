/* The op-conformance harness (see op_harness.h): run one case on two backends, compare, report. */
#include "helpers/op_harness.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helpers/check.h"

const char *oph_op_name(int op) {
  if (op == OPH_OP_FILL) return "fill";
  if (op == OPH_OP_COPY) return "copy";
  return porta_op_name((porta_op)op);
}

void oph_case_free(oph_case *c) {
  for (int i = 0; i < c->nbuf; i++) {
    free(c->buf[i].init);
    c->buf[i].init = NULL;
  }
}

oph_case *oph_new_case(oph_case_list *list, int op, const char *fmt, ...) {
  if (list->count == list->capacity) {
    int capacity = list->capacity ? 2 * list->capacity : 256;
    oph_case *items = realloc(list->items, (size_t)capacity * sizeof *items);
    if (!items) return NULL;
    list->items = items;
    list->capacity = capacity;
  }
  oph_case *c = &list->items[list->count++];
  memset(c, 0, sizeof *c);
  c->op = op;
  int len = snprintf(c->desc, sizeof c->desc, "%s ", oph_op_name(op));
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->desc + len, sizeof c->desc - (size_t)len, fmt, ap);
  va_end(ap);
  return c;
}

void oph_case_list_free(oph_case_list *list) {
  for (int i = 0; i < list->count; i++) oph_case_free(&list->items[i]);
  free(list->items);
  list->items = NULL;
  list->count = list->capacity = 0;
}

oph_buf *oph_slot(oph_case *c, int slot, const char *name, int64_t n, oph_role role, uint32_t *init,
                  double tol, int64_t base_off) {
  oph_buf *b = &c->buf[slot];
  if (slot >= c->nbuf) c->nbuf = slot + 1;
  b->name = name;
  b->n = n;
  b->off = base_off ? base_off + 2 * slot : 0;
  b->role = role;
  b->init = init;
  b->tol = tol;
  return b;
}

uint32_t *oph_words(int64_t n) { return calloc((size_t)(n > 0 ? n : 1), 4); }

uint32_t *oph_rand_f32(check_rng *rng, int64_t n, float lo, float hi) {
  uint32_t *w = oph_words(n);
  for (int64_t i = 0; w && i < n; i++) oph_set_f32(w, i, check_rng_uniform(rng, lo, hi));
  return w;
}

uint32_t *oph_rand_i32(check_rng *rng, int64_t n, int64_t lo, int64_t hi) {
  uint32_t *w = oph_words(n);
  for (int64_t i = 0; w && i < n; i++) w[i] = (uint32_t)(int32_t)check_rng_int(rng, lo, hi);
  return w;
}

void oph_set_f32(uint32_t *w, int64_t i, float v) { memcpy(&w[i], &v, 4); }

float oph_get_f32(const uint32_t *w, int64_t i) {
  float v;
  memcpy(&v, &w[i], 4);
  return v;
}

int64_t oph_view_extent(const int64_t shape[4], const int64_t stride[4]) {
  int64_t extent = 1;
  for (int d = 0; d < 4; d++) extent += (shape[d] - 1) * stride[d];
  return extent;
}

/* Puts the device refs of the slots into a copy of the case's arguments (slot order: header). */
static void bind(const oph_case *c, const porta_ref *r, oph_args *a) {
  *a = c->args;
  switch (c->op) {
  case PORTA_OP_GEMM:
    a->gemm.a = r[0], a->gemm.b = r[1], a->gemm.c = r[2];
    break;
  case PORTA_OP_BINARY:
    a->binary.out = r[0], a->binary.a = c->alias ? r[0] : r[1];
    a->binary.b = c->alias_b ? r[0] : r[2];
    break;
  case PORTA_OP_UNARY:
    a->unary.out = r[0], a->unary.x = c->alias ? r[0] : r[1];
    break;
  case PORTA_OP_UNARY_BWD:
    a->unary_bwd.dx = r[0], a->unary_bwd.x = r[1], a->unary_bwd.dy = c->alias ? r[0] : r[2];
    break;
  case PORTA_OP_REDUCE:
    a->reduce.out = r[0], a->reduce.x = r[1];
    break;
  case PORTA_OP_COPY_STRIDED:
    a->copy_strided.out = r[0], a->copy_strided.x = r[1];
    break;
  case PORTA_OP_SOFTMAX:
    a->softmax.y = r[0], a->softmax.x = r[1];
    a->softmax.mask = c->buf[2].n > 0 ? r[2] : (porta_ref){NULL, 0};
    break;
  case PORTA_OP_SOFTMAX_BWD:
    a->softmax_bwd.dx = r[0], a->softmax_bwd.y = r[1], a->softmax_bwd.dy = c->alias ? r[0] : r[2];
    break;
  case PORTA_OP_LAYERNORM:
    a->layernorm.y = r[0], a->layernorm.mean = r[1], a->layernorm.rstd = r[2];
    a->layernorm.x = r[3], a->layernorm.gamma = r[4], a->layernorm.beta = r[5];
    break;
  case PORTA_OP_LAYERNORM_BWD:
    a->layernorm_bwd.dx = r[0], a->layernorm_bwd.dgamma = r[1], a->layernorm_bwd.dbeta = r[2];
    a->layernorm_bwd.dy = r[3], a->layernorm_bwd.x = r[4], a->layernorm_bwd.mean = r[5];
    a->layernorm_bwd.rstd = r[6], a->layernorm_bwd.gamma = r[7];
    break;
  case PORTA_OP_EMBEDDING:
    a->embedding.out = r[0], a->embedding.table = r[1], a->embedding.ids = r[2];
    break;
  case PORTA_OP_EMBEDDING_BWD:
    a->embedding_bwd.dtable = r[0], a->embedding_bwd.dout = r[1], a->embedding_bwd.ids = r[2];
    break;
  case PORTA_OP_DROPOUT:
    a->dropout.out = r[0], a->dropout.x = c->alias ? r[0] : r[1];
    break;
  case PORTA_OP_CROSS_ENTROPY:
    a->cross_entropy.loss = r[0], a->cross_entropy.probs = r[1];
    a->cross_entropy.logits = r[2], a->cross_entropy.labels = r[3];
    break;
  case PORTA_OP_CROSS_ENTROPY_BWD:
    a->cross_entropy_bwd.dlogits = r[0], a->cross_entropy_bwd.probs = r[1];
    a->cross_entropy_bwd.labels = r[2], a->cross_entropy_bwd.dloss = r[3];
    break;
  case PORTA_OP_ADAMW:
    a->adamw.param = r[0], a->adamw.m = r[1], a->adamw.v = r[2], a->adamw.grad = r[3];
    break;
  case PORTA_OP_SUMSQ:
    a->sumsq.out = r[0], a->sumsq.x = r[1];
    break;
  default:
    break;
  }
}

/* The vtable entry of c's op, NULL when the backend leaves it out. */
static bool entry_present(const porta_backend_ops *o, int op) {
  const void *entries[] = {
      [PORTA_OP_GEMM] = (const void *)o->gemm,
      [PORTA_OP_BINARY] = (const void *)o->binary,
      [PORTA_OP_UNARY] = (const void *)o->unary,
      [PORTA_OP_UNARY_BWD] = (const void *)o->unary_bwd,
      [PORTA_OP_REDUCE] = (const void *)o->reduce,
      [PORTA_OP_COPY_STRIDED] = (const void *)o->copy_strided,
      [PORTA_OP_SOFTMAX] = (const void *)o->softmax,
      [PORTA_OP_SOFTMAX_BWD] = (const void *)o->softmax_bwd,
      [PORTA_OP_LAYERNORM] = (const void *)o->layernorm,
      [PORTA_OP_LAYERNORM_BWD] = (const void *)o->layernorm_bwd,
      [PORTA_OP_EMBEDDING] = (const void *)o->embedding,
      [PORTA_OP_EMBEDDING_BWD] = (const void *)o->embedding_bwd,
      [PORTA_OP_DROPOUT] = (const void *)o->dropout,
      [PORTA_OP_CROSS_ENTROPY] = (const void *)o->cross_entropy,
      [PORTA_OP_CROSS_ENTROPY_BWD] = (const void *)o->cross_entropy_bwd,
      [PORTA_OP_ADAMW] = (const void *)o->adamw,
      [PORTA_OP_SUMSQ] = (const void *)o->sumsq,
      [OPH_OP_FILL] = (const void *)o->fill,
      [OPH_OP_COPY] = (const void *)o->copy,
  };
  return op >= 0 && op < OPH_OP_END && entries[op] != NULL;
}

static porta_status exec(porta_backend *be, const oph_case *c, const oph_args *a,
                         void *const *dev) {
  switch (c->op) {
  case PORTA_OP_GEMM:
    return be->ops->gemm(be, &a->gemm);
  case PORTA_OP_BINARY:
    return be->ops->binary(be, &a->binary);
  case PORTA_OP_UNARY:
    return be->ops->unary(be, &a->unary);
  case PORTA_OP_UNARY_BWD:
    return be->ops->unary_bwd(be, &a->unary_bwd);
  case PORTA_OP_REDUCE:
    return be->ops->reduce(be, &a->reduce);
  case PORTA_OP_COPY_STRIDED:
    return be->ops->copy_strided(be, &a->copy_strided);
  case PORTA_OP_SOFTMAX:
    return be->ops->softmax(be, &a->softmax);
  case PORTA_OP_SOFTMAX_BWD:
    return be->ops->softmax_bwd(be, &a->softmax_bwd);
  case PORTA_OP_LAYERNORM:
    return be->ops->layernorm(be, &a->layernorm);
  case PORTA_OP_LAYERNORM_BWD:
    return be->ops->layernorm_bwd(be, &a->layernorm_bwd);
  case PORTA_OP_EMBEDDING:
    return be->ops->embedding(be, &a->embedding);
  case PORTA_OP_EMBEDDING_BWD:
    return be->ops->embedding_bwd(be, &a->embedding_bwd);
  case PORTA_OP_DROPOUT:
    return be->ops->dropout(be, &a->dropout);
  case PORTA_OP_CROSS_ENTROPY:
    return be->ops->cross_entropy(be, &a->cross_entropy);
  case PORTA_OP_CROSS_ENTROPY_BWD:
    return be->ops->cross_entropy_bwd(be, &a->cross_entropy_bwd);
  case PORTA_OP_ADAMW:
    return be->ops->adamw(be, &a->adamw);
  case PORTA_OP_SUMSQ:
    return be->ops->sumsq(be, &a->sumsq);
  case OPH_OP_FILL:
    return be->ops->fill(be, (porta_ref){dev[0], (size_t)(c->buf[0].off + c->buf[0].view)},
                         a->fill.n, a->fill.value);
  case OPH_OP_COPY:
    return be->ops->copy(be, dev[0], (size_t)(c->buf[0].off + c->buf[0].view) * 4, dev[1],
                         (size_t)(c->buf[1].off + c->buf[1].view) * 4, (size_t)c->buf[1].n * 4);
  }
  return PORTA_ERR_INVALID_ARGUMENT;
}

static size_t buf_total(const oph_buf *b) { return (size_t)(b->off + b->n + OPH_GUARD); }

/* Runs c on be; whole[i] receives slot i's whole device buffer (sentinels included). Returns
 * false with a reason in why; *unsupported tells a "supports() said no" apart. */
static bool execute(porta_backend *be, const oph_case *c, uint32_t **whole, bool *unsupported,
                    char *why, size_t why_size) {
  void *dev[OPH_MAX_BUFS] = {0};
  porta_ref refs[OPH_MAX_BUFS];
  bool ok = false;
  *unsupported = false;
  for (int i = 0; i < c->nbuf; i++) whole[i] = NULL;
  if (!entry_present(be->ops, c->op)) {
    snprintf(why, why_size, "the vtable entry for %s is NULL", oph_op_name(c->op));
    return false;
  }
  for (int i = 0; i < c->nbuf; i++) {
    const oph_buf *b = &c->buf[i];
    size_t total = buf_total(b);
    uint32_t *host = malloc(total * 4);
    if (!host) {
      snprintf(why, why_size, "out of host memory");
      goto done;
    }
    for (size_t j = 0; j < total; j++) host[j] = OPH_SENTINEL;
    porta_status st = be->ops->alloc(be, total * 4, &dev[i]);
    if (!st) st = be->ops->upload(be, dev[i], 0, host, total * 4);
    /* The tensor itself goes up as a second, partial upload at its byte offset. */
    if (!st && b->init && b->n)
      st = be->ops->upload(be, dev[i], (size_t)b->off * 4, b->init, (size_t)b->n * 4);
    free(host);
    if (st) {
      snprintf(why, why_size, "alloc/upload of %s (%zu bytes): status %d: %s", b->name, total * 4,
               (int)st, be->err);
      goto done;
    }
    refs[i] = (porta_ref){dev[i], (size_t)(b->off + b->view)};
  }
  oph_args args;
  bind(c, refs, &args);
  if (c->op < PORTA_OP_COUNT && !be->ops->supports(be, (porta_op)c->op, &args)) {
    *unsupported = true;
    goto done;
  }
  porta_status st = exec(be, c, &args, dev);
  if (st) {
    snprintf(why, why_size, "%s returned status %d: %s", oph_op_name(c->op), (int)st, be->err);
    goto done;
  }
  st = be->ops->synchronize(be);
  if (st) {
    snprintf(why, why_size, "synchronize returned status %d: %s", (int)st, be->err);
    goto done;
  }
  for (int i = 0; i < c->nbuf; i++) {
    const oph_buf *b = &c->buf[i];
    size_t total = buf_total(b);
    whole[i] = malloc(total * 4);
    uint32_t *part = malloc((size_t)b->n * 4 + 4);
    if (!whole[i] || !part) {
      free(part);
      snprintf(why, why_size, "out of host memory");
      goto done;
    }
    st = be->ops->download(be, dev[i], 0, whole[i], total * 4);
    /* A partial download at the tensor's offset must agree with the whole one. */
    if (!st && b->n) st = be->ops->download(be, dev[i], (size_t)b->off * 4, part, (size_t)b->n * 4);
    bool same = st || memcmp(part, whole[i] + b->off, (size_t)b->n * 4) == 0;
    free(part);
    if (st) {
      snprintf(why, why_size, "download of %s: status %d: %s", b->name, (int)st, be->err);
      goto done;
    }
    if (!same) {
      snprintf(why, why_size, "a partial download of %s differs from the whole buffer's", b->name);
      goto done;
    }
  }
  ok = true;
done:
  for (int i = 0; i < c->nbuf; i++)
    if (dev[i]) be->ops->free(be, dev[i]);
  if (!ok)
    for (int i = 0; i < c->nbuf; i++) {
      free(whole[i]);
      whole[i] = NULL;
    }
  return ok;
}

static float as_float(uint32_t bits) {
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

/* "y[37] (row 0, col 37)" */
static void describe_index(char *out, size_t size, const oph_buf *b, int64_t i) {
  if (b->cols > 0)
    snprintf(out, size, "%s[%lld] (row %lld, col %lld)", b->name, (long long)i,
             (long long)(i / b->cols), (long long)(i % b->cols));
  else
    snprintf(out, size, "%s[%lld]", b->name, (long long)i);
}

/* Guard elements of slot b in a downloaded buffer: index of the first changed one, or -1. */
static int64_t first_bad_guard(const oph_buf *b, const uint32_t *whole) {
  size_t total = buf_total(b);
  for (size_t j = 0; j < total; j++) {
    bool inside = (int64_t)j >= b->off && (int64_t)j < b->off + b->n;
    if (!inside && whole[j] != OPH_SENTINEL) return (int64_t)j;
  }
  return -1;
}

/* Compares slot i of a run (got, from who) against the reference run; appends "name=err" to
 * summary. Returns false with the reason in why. */
static bool compare_slot(const oph_case *c, int i, const uint32_t *got, const uint32_t *ref,
                         const char *who, char *summary, size_t summary_size, char *why,
                         size_t why_size) {
  const oph_buf *b = &c->buf[i];
  char where[96];
  for (int side = 0; side < 2; side++) {
    const uint32_t *w = side ? ref : got;
    int64_t g = first_bad_guard(b, w);
    if (g >= 0) {
      int64_t rel = g < b->off ? g - b->off : g - (b->off + b->n);
      snprintf(why, why_size, "%s wrote outside %s: guard element %s%lld (0x%08x)",
               side ? "the cpu reference" : who, b->name, g < b->off ? "" : "end+", (long long)rel,
               (unsigned)w[g]);
      return false;
    }
  }
  const uint32_t *gx = got + b->off, *rx = ref + b->off;
  size_t used = strlen(summary);
  if (b->role == OPH_IN) {
    for (int64_t j = 0; j < b->n; j++)
      if (gx[j] != b->init[j] || rx[j] != b->init[j]) {
        describe_index(where, sizeof where, b, j);
        snprintf(why, why_size, "input %s was modified by %s", where,
                 gx[j] != b->init[j] ? who : "the cpu reference");
        return false;
      }
    return true;
  }
  if (b->bits) {
    for (int64_t j = 0; j < b->n; j++)
      if (gx[j] != rx[j]) {
        describe_index(where, sizeof where, b, j);
        snprintf(why, why_size, "%s = 0x%08x (%.9g), want 0x%08x (%.9g) bit for bit", where,
                 (unsigned)gx[j], (double)as_float(gx[j]), (unsigned)rx[j],
                 (double)as_float(rx[j]));
        return false;
      }
    snprintf(summary + used, summary_size - used, "%s%s=exact", used ? " " : "", b->name);
    return true;
  }
  const float *gf = (const float *)(const void *)gx, *rf = (const float *)(const void *)rx;
  if (b->zero_pattern)
    for (int64_t j = 0; j < b->n; j++)
      if ((gf[j] == 0.0f) != (rf[j] == 0.0f)) {
        describe_index(where, sizeof where, b, j);
        snprintf(why, why_size, "mask differs: %s = %.9g, want %.9g", where, (double)gf[j],
                 (double)rf[j]);
        return false;
      }
  size_t worst = 0;
  double err = check_norm_err_floor(gf, rf, (size_t)b->n, b->floor > 0 ? b->floor : 1e-6, &worst);
  snprintf(summary + used, summary_size - used, "%s%s=%.1e", used ? " " : "", b->name, err);
  if (err > b->tol) {
    describe_index(where, sizeof where, b, (int64_t)worst);
    int len = snprintf(why, why_size, "%s err %.2e > tol %.0e; worst at %s = %.9g, want %.9g",
                       b->name, err, b->tol, where, (double)gf[worst], (double)rf[worst]);
    /* Inputs of the same length at that index (x for elementwise ops), to replay the element. */
    for (int s = 0; s < c->nbuf && len > 0 && (size_t)len < why_size; s++) {
      const oph_buf *in = &c->buf[s];
      if (in->role != OPH_IN || in->bits || in->n != b->n || !in->init) continue;
      len += snprintf(why + len, why_size - (size_t)len, "%s %s[%zu]=%.9g", len ? ";" : "",
                      in->name, worst, (double)as_float(in->init[worst]));
    }
    return false;
  }
  return true;
}

oph_outcome oph_run_compare(porta_backend *be, const char *be_name, porta_backend *ref,
                            const oph_case *c) {
  uint32_t *got[OPH_MAX_BUFS], *want[OPH_MAX_BUFS];
  char why[8192] = "", summary[512] = "";
  bool unsupported = false, ref_unsupported = false;
  oph_outcome outcome = OPH_FAIL;
  bool got_ok = execute(be, c, got, &unsupported, why, sizeof why);
  if (unsupported) {
    printf("%s %s: unsupported\n", be_name, c->desc);
    fflush(stdout);
    return OPH_UNSUPPORTED;
  }
  char ref_why[8192] = "";
  bool want_ok = got_ok && execute(ref, c, want, &ref_unsupported, ref_why, sizeof ref_why);
  if (!got_ok) {
    printf("%s %s: FAIL: %s\n", be_name, c->desc, why);
    fflush(stdout);
    return OPH_FAIL;
  }
  if (!want_ok) {
    printf("%s %s: FAIL: the cpu reference failed: %s\n", be_name, c->desc, ref_why);
    for (int i = 0; i < c->nbuf; i++) free(got[i]);
    fflush(stdout);
    return OPH_FAIL;
  }
  bool ok = true;
  double tol = 0.0;
  for (int i = 0; i < c->nbuf && ok; i++) {
    ok = compare_slot(c, i, got[i], want[i], be_name, summary, sizeof summary, why, sizeof why);
    if (c->buf[i].role != OPH_IN && !c->buf[i].bits && c->buf[i].tol > tol) tol = c->buf[i].tol;
  }
  if (ok) {
    if (tol > 0)
      printf("%s %s: %s (tol %.0e) ok\n", be_name, c->desc, summary, tol);
    else
      printf("%s %s: %s ok\n", be_name, c->desc, summary);
    outcome = OPH_PASS;
  } else {
    printf("%s %s: FAIL: %s\n", be_name, c->desc, why);
  }
  fflush(stdout);
  for (int i = 0; i < c->nbuf; i++) {
    free(got[i]);
    free(want[i]);
  }
  return outcome;
}

bool oph_case_list_complete(const oph_case_list *list) {
  for (int i = 0; i < list->count; i++)
    for (int s = 0; s < list->items[i].nbuf; s++) {
      const oph_buf *b = &list->items[i].buf[s];
      if (b->role != OPH_OUT && b->n > 0 && !b->init) {
        printf("out of host memory building %s\n", list->items[i].desc);
        return false;
      }
    }
  return true;
}

bool oph_env_selects(const char *var, const char *name) { return check_env_selects(var, name); }

void oph_run_cases(oph_suite *su, porta_backend *be, const char *name) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int passed = 0, failed = 0;
  for (int i = 0; i < su->cases.count; i++) {
    const oph_case *c = &su->cases.items[i];
    if (!oph_env_selects("PORTA_TEST_OPS", oph_op_name(c->op))) continue;
    oph_outcome o = oph_run_compare(be, name, su->ref, c);
    if (o == OPH_PASS) passed++;
    if (o == OPH_FAIL) failed++;
    if (o == OPH_UNSUPPORTED) {
      su->unsupported++;
      size_t used = strlen(su->unsupported_log);
      snprintf(su->unsupported_log + used, sizeof su->unsupported_log - used, "  %s %s\n", name,
               c->desc);
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("%s: %d passed, %d failed in %.1f s\n", name, passed, failed,
         (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
  fflush(stdout);
  su->passed += passed;
  su->failed += failed;
}
