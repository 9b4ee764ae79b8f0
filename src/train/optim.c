/* Optimizers: AdamW (the backend's fused per-tensor update, torch.optim.AdamW's arithmetic) and
 * SGD with momentum (composed from axpby), plus global-norm gradient clipping and the linear
 * warm-up/decay schedule. State tensors are allocated lazily, zeroed, on a parameter's first step.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

typedef enum optimizer_kind { OPT_ADAMW, OPT_SGD } optimizer_kind;

struct porta_optimizer {
  porta_context *ctx;
  optimizer_kind kind;
  int count;
  porta_tensor **params; /* not owned */
  double *decay;         /* AdamW: params[i]'s weight decay (0: none), as a decimal */
  double *lr_scale;      /* AdamW: params[i]'s group lr / options.lr (1: the step's lr) */
  porta_tensor **slot0;  /* exp_avg (AdamW) / momentum buffer (SGD) */
  porta_tensor **slot1;  /* exp_avg_sq (AdamW) */
  int64_t *param_steps;  /* per parameter, as torch keeps state["step"] */
  int64_t steps;
  struct {
    double beta1, beta2, eps, weight_decay;
  } adamw; /* AdamW's options as the decimals they stand for (see decimal_of) */
  float momentum, weight_decay; /* SGD */
};

void porta_adamw_options_init(porta_adamw_options *options) {
  if (!options) return;
  options->lr = 5e-5f;
  options->beta1 = 0.9f;
  options->beta2 = 0.999f;
  options->eps = 1e-8f;
  options->weight_decay = 0.01f;
}

/* The double that f32 x stands for: the shortest decimal that reads back as x (0.999f -> 0.999).
 * torch computes AdamW's factors from Python floats (1 - 0.999 = 0.001 in f32); from the f32
 * 0.999f itself, 1 - beta2 would be 0.00099998713, 1.3e-5 off. */
static double decimal_of(float x) {
  char text[32];
  for (int digits = 1; digits <= 9; digits++) {
    snprintf(text, sizeof text, "%.*g", digits, (double)x);
    if (strtof(text, NULL) == x) return strtod(text, NULL);
  }
  return (double)x; /* not reached for finite x: 9 digits always read back */
}

static porta_status check_params(porta_context *ctx, const char *what, porta_tensor **params,
                                 int count) {
  if (count < 0 || (count > 0 && !params))
    return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "%s: params is NULL or count %d < 0", what,
                      count);
  for (int i = 0; i < count; i++) {
    char name[32];
    snprintf(name, sizeof name, "params[%d]", i);
    porta_status st = porta_check_tensor(ctx, what, name, params[i], PORTA_F32);
    if (st != PORTA_OK) return st;
  }
  return PORTA_OK;
}

static porta_status optimizer_new(porta_optimizer **out, porta_context *ctx, porta_tensor **params,
                                  int count, optimizer_kind kind, const char *what) {
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  if (!out) return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "%s: out is NULL", what);
  *out = NULL;
  porta_status st = check_params(ctx, what, params, count);
  if (st != PORTA_OK) return st;
  porta_optimizer *opt = calloc(1, sizeof *opt);
  size_t n = count > 0 ? (size_t)count : 1;
  if (opt) {
    opt->params = calloc(n, sizeof *opt->params);
    opt->decay = calloc(n, sizeof *opt->decay);
    opt->lr_scale = calloc(n, sizeof *opt->lr_scale);
    opt->slot0 = calloc(n, sizeof *opt->slot0);
    opt->slot1 = calloc(n, sizeof *opt->slot1);
    opt->param_steps = calloc(n, sizeof *opt->param_steps);
  }
  if (!opt || !opt->params || !opt->decay || !opt->lr_scale || !opt->slot0 || !opt->slot1 ||
      !opt->param_steps) {
    porta_optimizer_free(opt);
    return porta_fail(ctx, PORTA_ERR_OUT_OF_MEMORY, "%s: out of host memory", what);
  }
  opt->ctx = ctx;
  opt->kind = kind;
  opt->count = count;
  for (int i = 0; i < count; i++) opt->params[i] = params[i], opt->lr_scale[i] = 1.0;
  *out = opt;
  return PORTA_OK;
}

/* *o = options (NULL: the defaults), checked: betas in [0, 1), lr, eps and weight decay ≥ 0. */
static porta_status adamw_options_take(porta_context *ctx, const char *what,
                                       const porta_adamw_options *options, porta_adamw_options *o) {
  if (options)
    *o = *options;
  else
    porta_adamw_options_init(o);
  if (ctx && (!(o->beta1 >= 0.0f && o->beta1 < 1.0f) || !(o->beta2 >= 0.0f && o->beta2 < 1.0f) ||
              !(o->eps >= 0.0f) || !(o->weight_decay >= 0.0f) || !(o->lr >= 0.0f)))
    return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT,
                      "%s: betas must be in [0, 1) and lr, eps, weight_decay ≥ 0 (got lr %g, "
                      "betas %g %g, eps %g, weight_decay %g)",
                      what, (double)o->lr, (double)o->beta1, (double)o->beta2, (double)o->eps,
                      (double)o->weight_decay);
  return PORTA_OK;
}

static void adamw_set_options(porta_optimizer *opt, const porta_adamw_options *o) {
  opt->adamw.beta1 = decimal_of(o->beta1);
  opt->adamw.beta2 = decimal_of(o->beta2);
  opt->adamw.eps = decimal_of(o->eps);
  opt->adamw.weight_decay = decimal_of(o->weight_decay);
}

porta_status porta_adamw_create(porta_optimizer **out, porta_context *ctx, porta_tensor **params,
                                int count, const bool *weight_decay_mask,
                                const porta_adamw_options *options) {
  const char *what = "porta_adamw_create";
  porta_adamw_options o;
  porta_status st = adamw_options_take(ctx, what, options, &o);
  if (st == PORTA_OK) st = optimizer_new(out, ctx, params, count, OPT_ADAMW, what);
  if (st != PORTA_OK) return st;
  adamw_set_options(*out, &o);
  for (int i = 0; i < count; i++)
    (*out)->decay[i] = !weight_decay_mask || weight_decay_mask[i] ? (*out)->adamw.weight_decay : 0;
  return PORTA_OK;
}

porta_status porta_adamw_create_groups(porta_optimizer **out, porta_context *ctx,
                                       const porta_param_group *groups, int n_groups,
                                       const porta_adamw_options *options) {
  const char *what = "porta_adamw_create_groups";
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  if (!out || n_groups < 0 || (n_groups > 0 && !groups))
    return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "%s: out or groups is NULL (%d groups)",
                      what, n_groups);
  *out = NULL;
  porta_adamw_options o;
  porta_status st = adamw_options_take(ctx, what, options, &o);
  if (st != PORTA_OK) return st;
  int64_t total = 0;
  for (int g = 0; g < n_groups; g++) {
    const porta_param_group *gr = &groups[g];
    if (gr->count < 0 || (gr->count > 0 && !gr->params) || !(gr->lr >= 0.0f) ||
        (gr->lr > 0.0f && !(o.lr > 0.0f)) || gr->weight_decay != gr->weight_decay)
      return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT,
                        "%s: group %d: %d params at %p, lr %g (options.lr %g), weight decay %g: "
                        "counts ≥ 0, lr ≥ 0 (a group lr needs options.lr > 0 to scale by)",
                        what, g, gr->count, (const void *)gr->params, (double)gr->lr, (double)o.lr,
                        (double)gr->weight_decay);
    total += gr->count;
  }
  if (total > INT32_MAX)
    return porta_fail(ctx, PORTA_ERR_LIMIT, "%s: %lld parameters", what, (long long)total);
  porta_tensor **tensors = calloc(total > 0 ? (size_t)total : 1, sizeof *tensors);
  if (!tensors) return porta_fail(ctx, PORTA_ERR_OUT_OF_MEMORY, "%s: out of host memory", what);
  for (int g = 0, k = 0; g < n_groups; g++)
    for (int i = 0; i < groups[g].count; i++) tensors[k++] = groups[g].params[i].tensor;
  st = optimizer_new(out, ctx, tensors, (int)total, OPT_ADAMW, what);
  free(tensors);
  if (st != PORTA_OK) return st;
  porta_optimizer *opt = *out;
  adamw_set_options(opt, &o);
  for (int g = 0, k = 0; g < n_groups; g++) {
    const porta_param_group *gr = &groups[g];
    double decay = gr->weight_decay < 0.0f ? opt->adamw.weight_decay : decimal_of(gr->weight_decay);
    /* porta_optimizer_step's lr is the schedule's value for options.lr: each group follows it
     * in proportion (a schedule scales every group alike, as torch's LambdaLR does) */
    double scale = gr->lr > 0.0f ? decimal_of(gr->lr) / decimal_of(o.lr) : 1.0;
    for (int i = 0; i < gr->count; i++, k++) {
      opt->decay[k] = gr->params[i].weight_decay ? decay : 0.0;
      opt->lr_scale[k] = scale;
    }
  }
  return PORTA_OK;
}

porta_status porta_sgd_create(porta_optimizer **out, porta_context *ctx, porta_tensor **params,
                              int count, float lr, float momentum, float weight_decay) {
  const char *what = "porta_sgd_create";
  if (ctx && (!(lr >= 0.0f) || !(momentum >= 0.0f) || !(weight_decay >= 0.0f)))
    return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT,
                      "%s: lr %g, momentum %g and weight_decay %g must be ≥ 0", what, (double)lr,
                      (double)momentum, (double)weight_decay);
  porta_status st = optimizer_new(out, ctx, params, count, OPT_SGD, what);
  if (st != PORTA_OK) return st;
  (*out)->momentum = momentum;
  (*out)->weight_decay = weight_decay;
  return PORTA_OK;
}

void porta_optimizer_free(porta_optimizer *opt) {
  if (!opt) return;
  for (int i = 0; i < opt->count; i++) {
    if (opt->slot0) porta_tensor_destroy(opt->slot0[i]);
    if (opt->slot1) porta_tensor_destroy(opt->slot1[i]);
  }
  free(opt->params);
  free(opt->decay);
  free(opt->lr_scale);
  free(opt->slot0);
  free(opt->slot1);
  free(opt->param_steps);
  free(opt);
}

/* A zero-filled state tensor shaped like p. */
static porta_status state_new(porta_context *ctx, const porta_tensor *p, porta_tensor **out,
                              const char *what) {
  porta_status st = porta_tensor_internal(ctx, out, PORTA_F32, p->ndim, p->shape, what);
  if (st != PORTA_OK) return st;
  st = porta_be_fill(ctx, what, porta_tensor_ref(*out), p->numel, 0.0f);
  if (st != PORTA_OK) {
    porta_tensor_destroy(*out);
    *out = NULL;
  }
  return st;
}

/* grad_scale: the clip coefficient AdamW applies to the gradient as it reads it (0: none). */
static porta_status adamw_step(porta_optimizer *opt, int i, double lr, float grad_scale) {
  porta_context *ctx = opt->ctx;
  const char *what = "porta_optimizer_step (AdamW)";
  porta_tensor *p = opt->params[i];
  porta_status st = PORTA_OK;
  if (!opt->slot0[i]) st = state_new(ctx, p, &opt->slot0[i], what);
  if (st == PORTA_OK && !opt->slot1[i]) st = state_new(ctx, p, &opt->slot1[i], what);
  if (st != PORTA_OK) return st;
  int64_t step = ++opt->param_steps[i];
  /* Bias corrections in double on the host, as torch does with Python floats. */
  double bc1 = 1.0 - pow(opt->adamw.beta1, (double)step);
  double bc2 = 1.0 - pow(opt->adamw.beta2, (double)step);
  porta_adamw_args a = {.param = porta_tensor_ref(p),
                        .grad = porta_tensor_ref(p->grad),
                        .m = porta_tensor_ref(opt->slot0[i]),
                        .v = porta_tensor_ref(opt->slot1[i]),
                        .n = p->numel,
                        .lr = lr * opt->lr_scale[i],
                        .beta1 = opt->adamw.beta1,
                        .beta2 = opt->adamw.beta2,
                        .eps = opt->adamw.eps,
                        .weight_decay = opt->decay[i],
                        .bias_correction1 = bc1,
                        .bias_correction2 = bc2,
                        .grad_scale = grad_scale};
  return porta_run(ctx, what, &a);
}

/* torch.optim.SGD: g = grad + wd·p;  buf = g (first step) or momentum·buf + g;  p -= lr·buf */
static porta_status sgd_step(porta_optimizer *opt, int i, float lr) {
  porta_context *ctx = opt->ctx;
  const char *what = "porta_optimizer_step (SGD)";
  porta_tensor *p = opt->params[i], *g = p->grad, *scratch = NULL;
  porta_status st = PORTA_OK;
  if (opt->weight_decay != 0.0f) {
    st = porta_tensor_internal(ctx, &scratch, PORTA_F32, p->ndim, p->shape, what);
    if (st == PORTA_OK)
      st = porta_be_axpby(ctx, what, porta_tensor_ref(scratch), porta_tensor_ref(g), p->numel, 1.0f,
                          0.0f);
    if (st == PORTA_OK)
      st = porta_be_axpby(ctx, what, porta_tensor_ref(scratch), porta_tensor_ref(p), p->numel,
                          opt->weight_decay, 1.0f);
    g = scratch;
  }
  if (st == PORTA_OK && opt->momentum != 0.0f) {
    if (!opt->slot0[i]) {
      st = porta_tensor_internal(ctx, &opt->slot0[i], PORTA_F32, p->ndim, p->shape, what);
      if (st == PORTA_OK)
        st = porta_be_axpby(ctx, what, porta_tensor_ref(opt->slot0[i]), porta_tensor_ref(g),
                            p->numel, 1.0f, 0.0f);
    } else {
      st = porta_be_axpby(ctx, what, porta_tensor_ref(opt->slot0[i]), porta_tensor_ref(g), p->numel,
                          1.0f, opt->momentum);
    }
    g = opt->slot0[i];
  }
  if (st == PORTA_OK)
    st = porta_be_axpby(ctx, what, porta_tensor_ref(p), porta_tensor_ref(g), p->numel, -lr, 1.0f);
  if (st == PORTA_OK) opt->param_steps[i]++;
  porta_tensor_destroy(scratch);
  return st;
}

static porta_status check_lr(porta_optimizer *opt, const char *what, float lr) {
  if (lr >= 0.0f) return PORTA_OK;
  return porta_fail(opt->ctx, PORTA_ERR_INVALID_ARGUMENT, "%s: lr %g is negative or NaN", what,
                    (double)lr);
}

/* One step; AdamW reads the gradients times grad_scale (0: as they are). */
static porta_status optimizer_step(porta_optimizer *opt, float lr, float grad_scale) {
  double lr_decimal = decimal_of(lr);
  for (int i = 0; i < opt->count; i++) {
    if (!opt->params[i]->grad) continue; /* no gradient reached it: skipped, as in torch */
    porta_status st =
        opt->kind == OPT_ADAMW ? adamw_step(opt, i, lr_decimal, grad_scale) : sgd_step(opt, i, lr);
    if (st != PORTA_OK) return st;
  }
  opt->steps++;
  return PORTA_OK;
}

porta_status porta_optimizer_step(porta_optimizer *opt, float lr) {
  if (!opt) return PORTA_ERR_INVALID_ARGUMENT;
  porta_status st = check_lr(opt, "porta_optimizer_step", lr);
  return st != PORTA_OK ? st : optimizer_step(opt, lr, 0.0f);
}

/* Drops the gradients (torch's zero_grad(set_to_none=True)): the next backward writes them
 * fresh instead of adding to zeros. porta_tensor_grad() returns NULL until then. */
porta_status porta_optimizer_zero_grad(porta_optimizer *opt) {
  if (!opt) return PORTA_ERR_INVALID_ARGUMENT;
  for (int i = 0; i < opt->count; i++) {
    porta_tensor *p = opt->params[i];
    if (p->grad) {
      porta_tensor_destroy(p->grad);
      p->grad = NULL;
    }
  }
  return PORTA_OK;
}

int64_t porta_optimizer_steps(const porta_optimizer *opt) { return opt ? opt->steps : 0; }

porta_tensor *porta_optimizer_state(porta_optimizer *opt, int param_index, int slot) {
  if (!opt || param_index < 0 || param_index >= opt->count) return NULL;
  if (slot == 0) return opt->slot0[param_index];
  if (slot == 1 && opt->kind == OPT_ADAMW) return opt->slot1[param_index];
  return NULL;
}

static porta_status load_slot(porta_optimizer *opt, int i, porta_tensor **slot,
                              const porta_tensor *src, const char *label) {
  porta_context *ctx = opt->ctx;
  const char *what = "porta_optimizer_load_state";
  porta_tensor *p = opt->params[i];
  bool same = src->dtype == PORTA_F32 && src->numel == p->numel && src->ndim == p->ndim;
  for (int d = 0; same && d < p->ndim; d++) same = src->shape[d] == p->shape[d];
  if (!same) {
    char sp[96], ss[96];
    return porta_fail(ctx, PORTA_ERR_SHAPE, "%s: %s[%d] %s does not match parameter %s%s%s", what,
                      label, i, PORTA_SHAPE_STR(src, ss), p->name ? p->name : "",
                      p->name ? " " : "", PORTA_SHAPE_STR(p, sp));
  }
  if (!*slot) {
    porta_status st = porta_tensor_internal(ctx, slot, PORTA_F32, p->ndim, p->shape, what);
    if (st != PORTA_OK) return st;
  }
  return porta_tensor_copy(*slot, src);
}

porta_status porta_optimizer_load_state(porta_optimizer *opt, int64_t steps,
                                        porta_tensor *const *exp_avg,
                                        porta_tensor *const *exp_avg_sq) {
  if (!opt) return PORTA_ERR_INVALID_ARGUMENT;
  if (steps < 0)
    return porta_fail(opt->ctx, PORTA_ERR_INVALID_ARGUMENT,
                      "porta_optimizer_load_state: steps %lld < 0", (long long)steps);
  for (int i = 0; i < opt->count; i++) {
    porta_status st = PORTA_OK;
    if (exp_avg && exp_avg[i]) st = load_slot(opt, i, &opt->slot0[i], exp_avg[i], "exp_avg");
    if (st == PORTA_OK && opt->kind == OPT_ADAMW && exp_avg_sq && exp_avg_sq[i])
      st = load_slot(opt, i, &opt->slot1[i], exp_avg_sq[i], "exp_avg_sq");
    if (st != PORTA_OK) return st;
    /* AdamW needs both moments: a parameter with only one restored starts from zeros. */
    if (opt->kind == OPT_ADAMW && (opt->slot0[i] != NULL) != (opt->slot1[i] != NULL)) {
      porta_tensor **missing = opt->slot0[i] ? &opt->slot1[i] : &opt->slot0[i];
      st = state_new(opt->ctx, opt->params[i], missing, "porta_optimizer_load_state");
      if (st != PORTA_OK) return st;
    }
    opt->param_steps[i] = opt->slot0[i] ? steps : 0;
  }
  opt->steps = steps;
  return PORTA_OK;
}

/* Global L2 norm of the gradients of params (*any = false when none has one) and torch's clip
 * coefficient max_norm / (norm + 1e-6), clamped to 1: Σ over tensors of Σ g² into one device
 * scalar, then a single download. */
static porta_status clip_coef(porta_context *ctx, const char *what, porta_tensor **params,
                              int count, float max_norm, float *norm, float *coef, bool *any) {
  *norm = 0.0f;
  *coef = 1.0f;
  *any = false;
  porta_tensor *acc;
  int64_t one = 1;
  porta_status st = porta_tensor_internal(ctx, &acc, PORTA_F32, 1, &one, what);
  if (st != PORTA_OK) return st;
  for (int i = 0; i < count && st == PORTA_OK; i++) {
    porta_tensor *g = params[i]->grad;
    if (!g) continue;
    porta_sumsq_args a = {
        .out = porta_tensor_ref(acc), .x = porta_tensor_ref(g), .n = g->numel, .accumulate = *any};
    st = porta_run(ctx, what, &a);
    *any = true;
  }
  float sumsq = 0.0f;
  if (st == PORTA_OK && *any) st = porta_tensor_download(acc, &sumsq, 1);
  porta_tensor_destroy(acc);
  if (st != PORTA_OK || !*any) return st;
  *norm = sqrtf(sumsq);
  float c = max_norm / (*norm + 1e-6f);
  if (c < 1.0f) *coef = c; /* NaN (a NaN norm) leaves the gradients as they are */
  return PORTA_OK;
}

/* g = coef · g in place for every gradient (torch's grads.mul_(clip_coef)). */
static porta_status scale_grads(porta_context *ctx, const char *what, porta_tensor **params,
                                int count, float coef) {
  porta_status st = PORTA_OK;
  for (int i = 0; i < count && st == PORTA_OK; i++) {
    porta_tensor *g = params[i]->grad;
    if (!g) continue;
    porta_unary_args u = {.op = PORTA_UNARY_SCALE,
                          .out = porta_tensor_ref(g),
                          .x = porta_tensor_ref(g),
                          .n = g->numel,
                          .alpha = coef,
                          .beta = 0.0f};
    st = porta_run(ctx, what, &u);
  }
  return st;
}

static porta_status check_max_norm(porta_context *ctx, const char *what, float max_norm) {
  if (max_norm > 0.0f) return PORTA_OK;
  return porta_fail(ctx, PORTA_ERR_INVALID_ARGUMENT, "%s: max_norm %g must be > 0", what,
                    (double)max_norm);
}

porta_status porta_clip_grad_norm(porta_context *ctx, porta_tensor **params, int count,
                                  float max_norm, float *total_norm) {
  const char *what = "porta_clip_grad_norm";
  if (!ctx) return PORTA_ERR_INVALID_ARGUMENT;
  if (total_norm) *total_norm = 0.0f;
  porta_status st = check_params(ctx, what, params, count);
  if (st == PORTA_OK) st = check_max_norm(ctx, what, max_norm);
  float norm, coef;
  bool any;
  if (st == PORTA_OK) st = clip_coef(ctx, what, params, count, max_norm, &norm, &coef, &any);
  if (st != PORTA_OK || !any) return st;
  if (total_norm) *total_norm = norm;
  return coef < 1.0f ? scale_grads(ctx, what, params, count, coef) : PORTA_OK;
}

/* porta_clip_grad_norm over the optimizer's parameters, then porta_optimizer_step, in one pass
 * over the gradients less: AdamW multiplies each gradient by the clip coefficient as it reads it
 * (one f32 rounding, as grads.mul_(clip_coef) before torch's step), so the parameters and state
 * are bit-identical to clip then step, but the gradients are left unclipped. SGD (and a zero
 * coefficient, from an infinite norm) clips in place, then steps. max_norm <= 0: no clipping.
 * *total_norm (may be NULL) receives the norm before clipping (0 without clipping). */
porta_status porta_optimizer_clip_step(porta_optimizer *opt, float max_norm, float lr,
                                       float *total_norm) {
  const char *what = "porta_optimizer_clip_step";
  if (!opt) return PORTA_ERR_INVALID_ARGUMENT;
  if (total_norm) *total_norm = 0.0f;
  porta_status st = check_lr(opt, what, lr);
  if (st == PORTA_OK && isnan(max_norm)) st = check_max_norm(opt->ctx, what, max_norm);
  if (st != PORTA_OK) return st;
  if (!(max_norm > 0.0f)) return optimizer_step(opt, lr, 0.0f);
  float norm, coef;
  bool any;
  st = clip_coef(opt->ctx, what, opt->params, opt->count, max_norm, &norm, &coef, &any);
  if (st != PORTA_OK) return st;
  if (total_norm) *total_norm = norm;
  float grad_scale = 0.0f; /* none */
  if (coef < 1.0f && (opt->kind != OPT_ADAMW || coef == 0.0f))
    st = scale_grads(opt->ctx, what, opt->params, opt->count, coef);
  else if (coef < 1.0f)
    grad_scale = coef;
  return st != PORTA_OK ? st : optimizer_step(opt, lr, grad_scale);
}

float porta_lr_linear(int64_t step, int64_t warmup, int64_t total, float base_lr) {
  if (step < 0) step = 0;
  if (warmup < 0) warmup = 0;
  double factor;
  if (step < warmup)
    factor = (double)step / (double)(warmup > 1 ? warmup : 1);
  else {
    double left = (double)(total - step), span = (double)(total - warmup > 1 ? total - warmup : 1);
    factor = left / span;
    if (factor < 0.0) factor = 0.0;
  }
  return (float)(factor * (double)base_lr);
}
