/* Optimizers against PyTorch (fixture tests/data/optim/optim.txt from tools/gen_optim_fixture.py)
 * on every backend (PORTA_TEST_BACKENDS=cpu,opencl,vulkan limits them; GPU backends that are not
 * available are skipped): AdamW after 3 steps with a weight-decay mask and a per-step lr, again
 * with beta1 < 0.5 on 37 elements, its state and load_state; SGD with momentum and weight decay,
 * clip_grad_norm (clipping and not), the linear schedule.
 * AdamW's state is bit-exact: exp_avg and exp_avg_sq depend only on the gradients, and porta does
 * torch's f32 arithmetic (lerp, mul_, addcmul_ as fused multiply-adds; the factors rounded from
 * doubles). The parameters agree within ADAMW_PARAM_TOL only: torch's f32 sqrt on this CPU is
 * not correctly rounded (±1 ulp on ~20% of inputs), porta's is. Measured (torch 2.15, AVX512):
 * param 6.9e-7 (before: the same), exp_avg 0 (before 4.5e-6 cpu/vulkan, 7.0e-6 opencl),
 * exp_avg_sq 0 (before 1.3e-5) on cpu, opencl (PoCL) and vulkan (lavapipe).
 * Then 3 steps on 100003 random elements against backend.h's arithmetic written in plain C.
 * The trainer's fused clip + step (porta_optimizer_clip_step: AdamW reads the gradients times the
 * clip coefficient, porta_adamw_args.grad_scale) equals porta_clip_grad_norm then
 * porta_optimizer_step bit for bit, for AdamW and SGD, clipping or not, and grad_scale on the
 * backend at aligned and unaligned offsets equals a SCALE then AdamW.
 * Elsewhere: |porta - torch| ≤ 1e-6 · max(|torch|, 1e-3) per element (relative 1e-6; entries
 * below 1e-3 in magnitude are compared at 1e-9 absolute). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "helpers/check.h"
#include "porta/porta.h"
#include "train/train_internal.h"

static porta_context *ctx;
static check_counter checks;

#define MAXV 64

/* Reads record `name` of the fixture into v (returns its count; exits when missing). */
static int load(const char *name, float *v) {
  const char *path = PORTA_TEST_DATA "/optim/optim.txt";
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "FAIL cannot open %s\n", path);
    exit(1);
  }
  char key[128];
  int n = -1;
  while (fscanf(f, "%127s", key) == 1) {
    if (key[0] == '#') {
      int c;
      while ((c = fgetc(f)) != '\n' && c != EOF) {
      }
      continue;
    }
    int count;
    if (fscanf(f, "%d", &count) != 1 || count > MAXV) break;
    bool match = strcmp(key, name) == 0;
    for (int i = 0; i < count; i++) {
      float x;
      if (fscanf(f, "%f", &x) != 1) break;
      if (match) v[i] = x;
    }
    if (match) {
      n = count;
      break;
    }
  }
  fclose(f);
  if (n < 0) {
    fprintf(stderr, "FAIL fixture record %s missing in %s\n", name, path);
    exit(1);
  }
  return n;
}

static porta_tensor *from_record(const char *name, bool requires_grad) {
  float v[MAXV];
  int64_t n = load(name, v);
  porta_tensor *t;
  CHECK_OK(ctx, porta_tensor_from_host(ctx, &t, PORTA_F32, 1, &n, v));
  if (requires_grad) CHECK_OK(ctx, porta_tensor_set_requires_grad(t, true));
  return t;
}

/* Tolerances of the AdamW records: the state is bit-exact, the parameters within ~1 ulp of the
 * update (see the top of the file). */
#define ADAMW_PARAM_TOL 1e-6
#define ADAMW_STATE_TOL 0.0

/* The largest error of AdamW's records per kind, for the summary line of a backend. */
typedef struct adamw_worst {
  double param, exp_avg, exp_avg_sq;
} adamw_worst;

/* Prints and counts one comparison; returns the worst relative error. */
static double compare_tol(const char *what, const float *got, const float *want, int n,
                          double tol) {
  double worst = 0.0;
  int wi = 0;
  for (int i = 0; i < n; i++) {
    double denom = fmax(fabs((double)want[i]), 1e-3);
    double e = fabs((double)got[i] - (double)want[i]) / denom;
    if (e > worst) {
      worst = e;
      wi = i;
    }
  }
  bool ok = worst <= tol;
  printf("%s %-36s rel err %.2e (worst [%d] porta %.9g want %.9g, tol %.0e)\n",
         ok ? "ok  " : "FAIL", what, worst, wi, (double)got[wi], (double)want[wi], tol);
  check_count(&checks, ok);
  return worst;
}

static void compare(const char *what, const float *got, const float *want, int n) {
  compare_tol(what, got, want, n, 1e-6);
}

static double compare_tensor_tol(const char *what, const porta_tensor *t, const char *record,
                                 double tol) {
  float want[MAXV], got[MAXV];
  int n = load(record, want);
  if (!t || porta_tensor_numel(t) != n) {
    printf("FAIL %-36s tensor missing or of the wrong size\n", what);
    check_count(&checks, false);
    return INFINITY;
  }
  CHECK_OK(ctx, porta_tensor_download(t, got, (size_t)n));
  return compare_tol(what, got, want, n, tol);
}

static void compare_tensor(const char *what, const porta_tensor *t, const char *record) {
  compare_tensor_tol(what, t, record, 1e-6);
}

/* Compares AdamW's parameter (state slot -1) or state slot 0 / 1 with a record. */
static void compare_adamw(adamw_worst *w, const char *what, const porta_tensor *t, int slot,
                          const char *record) {
  double tol = slot < 0 ? ADAMW_PARAM_TOL : ADAMW_STATE_TOL;
  double e = compare_tensor_tol(what, t, record, tol);
  double *worst = slot < 0 ? &w->param : slot == 0 ? &w->exp_avg : &w->exp_avg_sq;
  *worst = fmax(*worst, e);
}

/* Makes p.grad = g through autograd: backward of Σ p ⊙ g. */
static void set_grads(porta_tensor **params, porta_tensor **grads, int count) {
  porta_tensor *total = NULL;
  for (int i = 0; i < count; i++) {
    porta_tensor *prod, *s, *sum;
    CHECK_OK(ctx, porta_mul(&prod, params[i], grads[i]));
    CHECK_OK(ctx, porta_sum_all(&s, prod));
    if (total) {
      CHECK_OK(ctx, porta_add(&sum, total, s));
      total = sum;
    } else {
      total = s;
    }
  }
  CHECK_OK(ctx, porta_backward(total));
  porta_release_temporaries(ctx);
}

static void test_adamw(adamw_worst *w) {
  porta_tensor *p[2] = {from_record("adamw_p0_init", true), from_record("adamw_p1_init", true)};
  float lrs[MAXV];
  load("adamw_lr", lrs);
  porta_adamw_options o;
  porta_adamw_options_init(&o);
  o.lr = 1e-2f;
  o.beta1 = 0.9f;
  o.beta2 = 0.999f;
  o.eps = 1e-8f;
  o.weight_decay = 0.01f;
  bool decay[2] = {true, false};
  porta_optimizer *opt;
  CHECK_OK(ctx, porta_adamw_create(&opt, ctx, p, 2, decay, &o));
  /* A twin with decay on both (mask NULL) shows that the mask matters. */
  porta_tensor *q[2] = {from_record("adamw_p0_init", true), from_record("adamw_p1_init", true)};
  porta_optimizer *twin;
  CHECK_OK(ctx, porta_adamw_create(&twin, ctx, q, 2, NULL, &o));
  for (int step = 0; step < 3; step++) {
    char r0[64], r1[64], what[64];
    snprintf(r0, sizeof r0, "adamw_g0_step%d", step);
    snprintf(r1, sizeof r1, "adamw_g1_step%d", step);
    porta_tensor *g[2] = {from_record(r0, false), from_record(r1, false)};
    CHECK_OK(ctx, porta_optimizer_zero_grad(opt));
    CHECK_OK(ctx, porta_optimizer_zero_grad(twin));
    set_grads(p, g, 2);
    set_grads(q, g, 2);
    CHECK_OK(ctx, porta_optimizer_step(opt, lrs[step]));
    CHECK_OK(ctx, porta_optimizer_step(twin, lrs[step]));
    snprintf(what, sizeof what, "AdamW step %d p0 (decay)", step + 1);
    snprintf(r0, sizeof r0, "adamw_p0_step%d", step);
    compare_adamw(w, what, p[0], -1, r0);
    snprintf(what, sizeof what, "AdamW step %d p1 (no decay)", step + 1);
    snprintf(r1, sizeof r1, "adamw_p1_step%d", step);
    compare_adamw(w, what, p[1], -1, r1);
    porta_tensor_free(g[0]);
    porta_tensor_free(g[1]);
  }
  for (int i = 0; i < 2; i++) {
    char what[64], record[64];
    for (int slot = 0; slot < 2; slot++) {
      const char *name = slot ? "exp_avg_sq" : "exp_avg";
      snprintf(what, sizeof what, "AdamW %s p%d", name, i);
      snprintf(record, sizeof record, "adamw_p%d_%s", i, name);
      compare_adamw(w, what, porta_optimizer_state(opt, i, slot), slot, record);
    }
  }
  bool steps_ok = porta_optimizer_steps(opt) == 3;
  printf("%s AdamW steps() = %lld\n", steps_ok ? "ok  " : "FAIL",
         (long long)porta_optimizer_steps(opt));
  check_count(&checks, steps_ok);

  float a[MAXV], b[MAXV];
  CHECK_OK(ctx, porta_tensor_download(p[1], a, 5));
  CHECK_OK(ctx, porta_tensor_download(q[1], b, 5));
  double diff = 0.0;
  for (int i = 0; i < 5; i++) diff = fmax(diff, fabs((double)a[i] - (double)b[i]));
  bool mask_ok = diff > 1e-7;
  printf("%s weight decay mask: p1 with and without decay differ by %.3g\n",
         mask_ok ? "ok  " : "FAIL", diff);
  check_count(&checks, mask_ok);

  /* load_state: a fresh optimizer given the twin's state continues exactly like the twin. */
  porta_tensor *r[2];
  for (int i = 0; i < 2; i++) {
    int64_t n = porta_tensor_numel(q[i]);
    CHECK_OK(ctx, porta_tensor_new(ctx, &r[i], PORTA_F32, 1, &n));
    CHECK_OK(ctx, porta_tensor_copy(r[i], q[i]));
    CHECK_OK(ctx, porta_tensor_set_requires_grad(r[i], true));
  }
  porta_optimizer *resumed;
  CHECK_OK(ctx, porta_adamw_create(&resumed, ctx, r, 2, NULL, &o));
  porta_tensor *m[2] = {porta_optimizer_state(twin, 0, 0), porta_optimizer_state(twin, 1, 0)};
  porta_tensor *v[2] = {porta_optimizer_state(twin, 0, 1), porta_optimizer_state(twin, 1, 1)};
  CHECK_OK(ctx, porta_optimizer_load_state(resumed, porta_optimizer_steps(twin), m, v));
  porta_tensor *g[2] = {from_record("adamw_g0_step0", false), from_record("adamw_g1_step0", false)};
  CHECK_OK(ctx, porta_optimizer_zero_grad(twin));
  set_grads(q, g, 2);
  set_grads(r, g, 2);
  CHECK_OK(ctx, porta_optimizer_step(twin, 1e-2f));
  CHECK_OK(ctx, porta_optimizer_step(resumed, 1e-2f));
  CHECK_OK(ctx, porta_tensor_download(q[0], a, 12));
  CHECK_OK(ctx, porta_tensor_download(r[0], b, 12));
  compare_tol("load_state resumes exactly", b, a, 12, 0.0);
  porta_optimizer_free(resumed);
  porta_optimizer_free(twin);
  porta_optimizer_free(opt);
  for (int i = 0; i < 2; i++) {
    porta_tensor_free(p[i]);
    porta_tensor_free(q[i]);
    porta_tensor_free(r[i]);
    porta_tensor_free(g[i]);
  }
}

/* beta1 < 0.5 takes the other branch of torch's lerp (exp_avg = g - (g - m)·beta1); 37 elements
 * cover the vector widths of the backends and a tail. */
static void test_adamw_small_beta1(adamw_worst *w) {
  porta_tensor *p = from_record("adamw2_init", true);
  float lrs[MAXV];
  load("adamw2_lr", lrs);
  porta_adamw_options o;
  porta_adamw_options_init(&o);
  o.beta1 = 0.3f;
  o.beta2 = 0.95f;
  o.eps = 1e-6f;
  o.weight_decay = 0.1f;
  porta_optimizer *opt;
  CHECK_OK(ctx, porta_adamw_create(&opt, ctx, &p, 1, NULL, &o));
  for (int step = 0; step < 3; step++) {
    char record[64], what[64];
    snprintf(record, sizeof record, "adamw2_g_step%d", step);
    porta_tensor *g = from_record(record, false);
    CHECK_OK(ctx, porta_optimizer_zero_grad(opt));
    set_grads(&p, &g, 1);
    CHECK_OK(ctx, porta_optimizer_step(opt, lrs[step]));
    snprintf(what, sizeof what, "AdamW beta1 0.3 step %d", step + 1);
    snprintf(record, sizeof record, "adamw2_p_step%d", step);
    compare_adamw(w, what, p, -1, record);
    porta_tensor_free(g);
  }
  compare_adamw(w, "AdamW beta1 0.3 exp_avg", porta_optimizer_state(opt, 0, 0), 0,
                "adamw2_exp_avg");
  compare_adamw(w, "AdamW beta1 0.3 exp_avg_sq", porta_optimizer_state(opt, 0, 1), 1,
                "adamw2_exp_avg_sq");
  porta_optimizer_free(opt);
  porta_tensor_free(p);
}

/* Parameter groups: a group at its own lr (scaled by the schedule like the rest) and weight decay,
 * with a per-parameter no-decay flag, steps as separate optimizers with those settings would. */
static void test_adamw_groups(check_rng *rng) {
  enum { NA = 37, NB = 5, NC = 129 };
  const int64_t sizes[3] = {NA, NB, NC};
  float init[3][NC], grad[2][3][NC];
  for (int t = 0; t < 3; t++) {
    check_fill_uniform(rng, init[t], (size_t)sizes[t], -1, 1);
    for (int s = 0; s < 2; s++) check_fill_uniform(rng, grad[s][t], (size_t)sizes[t], -1, 1);
  }
  porta_tensor *grouped[3], *alone[3];
  for (int t = 0; t < 3; t++) {
    CHECK_OK(ctx, porta_tensor_from_host(ctx, &grouped[t], PORTA_F32, 1, &sizes[t], init[t]));
    CHECK_OK(ctx, porta_tensor_from_host(ctx, &alone[t], PORTA_F32, 1, &sizes[t], init[t]));
    CHECK_OK(ctx, porta_tensor_set_requires_grad(grouped[t], true));
    CHECK_OK(ctx, porta_tensor_set_requires_grad(alone[t], true));
  }
  /* group 0: a (decay) and b (no decay) at lr 1e-3, decay 0.05; group 1: c at the step's lr */
  porta_param params[3] = {
      {grouped[0], "a", true}, {grouped[1], "b", false}, {grouped[2], "c", true}};
  porta_param_group groups[2] = {{params, 2, 1e-3f, 0.05f}, {params + 2, 1, 0.0f, -1.0f}};
  porta_adamw_options o;
  porta_adamw_options_init(&o);
  o.lr = 2e-4f;
  porta_optimizer *opt, *opt_ab, *opt_c;
  CHECK_OK(ctx, porta_adamw_create_groups(&opt, ctx, groups, 2, &o));
  porta_adamw_options o_ab = o;
  o_ab.weight_decay = 0.05f;
  bool mask_ab[2] = {true, false};
  CHECK_OK(ctx, porta_adamw_create(&opt_ab, ctx, alone, 2, mask_ab, &o_ab));
  CHECK_OK(ctx, porta_adamw_create(&opt_c, ctx, alone + 2, 1, NULL, &o));
  const float schedule[2] = {2e-4f, 1e-4f}; /* the step's lr: the group at 1e-3 follows it */
  for (int s = 0; s < 2; s++) {
    porta_tensor *g[2][3];
    for (int t = 0; t < 3; t++)
      for (int k = 0; k < 2; k++)
        CHECK_OK(ctx, porta_tensor_from_host(ctx, &g[k][t], PORTA_F32, 1, &sizes[t], grad[s][t]));
    CHECK_OK(ctx, porta_optimizer_zero_grad(opt));
    CHECK_OK(ctx, porta_optimizer_zero_grad(opt_ab));
    CHECK_OK(ctx, porta_optimizer_zero_grad(opt_c));
    set_grads(grouped, g[0], 3);
    set_grads(alone, g[1], 3);
    CHECK_OK(ctx, porta_optimizer_step(opt, schedule[s]));
    CHECK_OK(ctx, porta_optimizer_step(opt_ab, 1e-3f * (schedule[s] / 2e-4f)));
    CHECK_OK(ctx, porta_optimizer_step(opt_c, schedule[s]));
    for (int t = 0; t < 3; t++)
      for (int k = 0; k < 2; k++) porta_tensor_free(g[k][t]);
  }
  for (int t = 0; t < 3; t++) {
    float got[NC], want[NC];
    CHECK_OK(ctx, porta_tensor_download(grouped[t], got, (size_t)sizes[t]));
    CHECK_OK(ctx, porta_tensor_download(alone[t], want, (size_t)sizes[t]));
    char what[64];
    snprintf(what, sizeof what, "AdamW groups: tensor %c after 2 steps", "abc"[t]);
    check_close(&checks, what, got, want, (size_t)sizes[t], 1e-6);
  }
  porta_param_group bad = {params, -1, 0.0f, 0.0f};
  porta_optimizer *none = NULL;
  check_true(&checks,
             porta_adamw_create_groups(&none, ctx, &bad, 1, &o) == PORTA_ERR_INVALID_ARGUMENT &&
                 !none,
             "a group of -1 params is refused");
  porta_optimizer_free(opt), porta_optimizer_free(opt_ab), porta_optimizer_free(opt_c);
  for (int t = 0; t < 3; t++) porta_tensor_free(grouped[t]), porta_tensor_free(alone[t]);
}

/* backend.h's AdamW arithmetic in plain C: the reference for the large random check below. */
static void adamw_reference(float *p, float *m, float *v, const float *g, int64_t n, double lr,
                            double beta1, double beta2, double eps, double wd, int64_t step) {
  float decay = (float)(1.0 - lr * wd), w1 = (float)(1.0 - beta1), b2 = (float)beta2;
  float w2 = (float)(1.0 - beta2), step_size = (float)(lr / (1.0 - pow(beta1, (double)step)));
  float sqrt_bc2 = (float)sqrt(1.0 - pow(beta2, (double)step)), e = (float)eps;
  for (int64_t i = 0; i < n; i++) {
    float pi = p[i] * decay;
    m[i] = w1 < 0.5f ? fmaf(w1, g[i] - m[i], m[i]) : fmaf(w1 - 1.0f, g[i] - m[i], g[i]);
    v[i] = fmaf(w2 * g[i], g[i], v[i] * b2);
    p[i] = pi - step_size * m[i] / (sqrtf(v[i]) / sqrt_bc2 + e);
  }
}

/* Counts the elements whose bits differ. */
static int64_t bits_differ(const float *a, const float *b, int64_t n) {
  int64_t count = 0;
  for (int64_t i = 0; i < n; i++) count += memcmp(&a[i], &b[i], sizeof(float)) != 0;
  return count;
}

/* 3 steps on 100003 elements with gradients over 6 decades, both lerp branches: the state must
 * equal the plain-C reference bit for bit (sums, products and fma are exactly rounded on every
 * backend; the GPU backends' fused multiply-adds included); the parameters within 1 ulp-ish
 * (sqrt and division may be approximate on a GPU). */
static void test_adamw_spec(check_rng *rng, double beta1) {
  enum { N = 100003, STEPS = 3 };
  static float p[N], m[N], v[N], g[N], got[N];
  int64_t n = N;
  check_fill_uniform(rng, p, N, -2.0f, 2.0f);
  memset(m, 0, sizeof m);
  memset(v, 0, sizeof v);
  porta_tensor *param;
  CHECK_OK(ctx, porta_tensor_from_host(ctx, &param, PORTA_F32, 1, &n, p));
  CHECK_OK(ctx, porta_tensor_set_requires_grad(param, true));
  porta_adamw_options o;
  porta_adamw_options_init(&o);
  o.beta1 = (float)beta1; /* porta reads 0.9f as the decimal 0.9, as the reference does */
  porta_optimizer *opt;
  CHECK_OK(ctx, porta_adamw_create(&opt, ctx, &param, 1, NULL, &o));
  for (int step = 1; step <= STEPS; step++) {
    for (int i = 0; i < N; i++)
      g[i] = check_rng_uniform(rng, -1.0f, 1.0f) * powf(10.0f, check_rng_uniform(rng, -4, 2));
    porta_tensor *grad;
    CHECK_OK(ctx, porta_tensor_from_host(ctx, &grad, PORTA_F32, 1, &n, g));
    CHECK_OK(ctx, porta_optimizer_zero_grad(opt));
    set_grads(&param, &grad, 1);
    double lr = 1e-3 * step;
    CHECK_OK(ctx, porta_optimizer_step(opt, (float)lr));
    adamw_reference(p, m, v, g, N, lr, beta1, 0.999, 1e-8, 0.01, step);
    porta_tensor_free(grad);
  }
  char what[64];
  snprintf(what, sizeof what, "AdamW beta1 %g, %d elements: param", beta1, N);
  CHECK_OK(ctx, porta_tensor_download(param, got, N));
  compare_tol(what, got, p, N, 1e-6);
  const float *want[2] = {m, v};
  for (int slot = 0; slot < 2; slot++) {
    CHECK_OK(ctx, porta_tensor_download(porta_optimizer_state(opt, 0, slot), got, N));
    int64_t differ = bits_differ(got, want[slot], N);
    printf("%s AdamW beta1 %g: %s bit-identical to the reference (%lld of %d differ)\n",
           differ ? "FAIL" : "ok  ", beta1, slot ? "exp_avg_sq" : "exp_avg", (long long)differ, N);
    check_count(&checks, differ == 0);
  }
  porta_optimizer_free(opt);
  porta_tensor_free(param);
}

/* ---- the clip coefficient folded into AdamW -------------------------------------------------- */

enum { CS_COUNT = 3, CS_MAX = 4096 };
static const int64_t cs_sizes[CS_COUNT] = {1001, 37, CS_MAX};

static porta_optimizer *clip_step_optimizer(porta_tensor **params, bool adamw) {
  porta_optimizer *opt;
  if (adamw) {
    porta_adamw_options o;
    porta_adamw_options_init(&o);
    o.lr = 1e-2f;
    CHECK_OK(ctx, porta_adamw_create(&opt, ctx, params, CS_COUNT, NULL, &o));
  } else {
    CHECK_OK(ctx, porta_sgd_create(&opt, ctx, params, CS_COUNT, 0.1f, 0.9f, 0.01f));
  }
  return opt;
}

/* Bits that differ between two tensors of the same size (a missing one counts as all). */
static int64_t tensors_differ(const porta_tensor *x, const porta_tensor *y) {
  static float hx[CS_MAX], hy[CS_MAX];
  if (!x || !y || porta_tensor_numel(x) != porta_tensor_numel(y)) return CS_MAX;
  int64_t n = porta_tensor_numel(x);
  CHECK_OK(ctx, porta_tensor_download(x, hx, (size_t)n));
  CHECK_OK(ctx, porta_tensor_download(y, hy, (size_t)n));
  return bits_differ(hx, hy, n);
}

/* porta_optimizer_clip_step (AdamW reads the gradients times the clip coefficient) against
 * porta_clip_grad_norm then porta_optimizer_step, 3 steps on 3 tensors (1001, 37 and 4096
 * elements: vector widths and tails): parameters, state and norm bit for bit. max_norm 0.5 clips
 * (norm ≈ 70), 1e6 does not, 0 turns clipping off. The fused AdamW leaves the gradients as
 * backward made them; SGD clips them in place. */
static void test_clip_step(check_rng *rng, bool adamw, float max_norm) {
  static float host[CS_MAX];
  porta_tensor *a[CS_COUNT], *b[CS_COUNT];
  for (int i = 0; i < CS_COUNT; i++) {
    int64_t n = cs_sizes[i];
    check_fill_uniform(rng, host, (size_t)n, -1.0f, 1.0f);
    CHECK_OK(ctx, porta_tensor_from_host(ctx, &a[i], PORTA_F32, 1, &n, host));
    CHECK_OK(ctx, porta_tensor_from_host(ctx, &b[i], PORTA_F32, 1, &n, host));
    CHECK_OK(ctx, porta_tensor_set_requires_grad(a[i], true));
    CHECK_OK(ctx, porta_tensor_set_requires_grad(b[i], true));
  }
  porta_optimizer *opt_a = clip_step_optimizer(a, adamw), *opt_b = clip_step_optimizer(b, adamw);
  int64_t grads_changed = 0, values = 0, differ = 0;
  bool norms_equal = true;
  float norm_a = 0.0f, norm_b = 0.0f;
  for (int step = 0; step < 3; step++) {
    porta_tensor *g[CS_COUNT];
    for (int i = 0; i < CS_COUNT; i++) {
      int64_t n = cs_sizes[i];
      check_fill_uniform(rng, host, (size_t)n, -3.0f, 3.0f);
      CHECK_OK(ctx, porta_tensor_from_host(ctx, &g[i], PORTA_F32, 1, &n, host));
    }
    CHECK_OK(ctx, porta_optimizer_zero_grad(opt_a));
    CHECK_OK(ctx, porta_optimizer_zero_grad(opt_b));
    set_grads(a, g, CS_COUNT);
    set_grads(b, g, CS_COUNT);
    float lr = 1e-3f * (float)(step + 1);
    norm_a = 0.0f;
    if (max_norm > 0.0f) CHECK_OK(ctx, porta_clip_grad_norm(ctx, a, CS_COUNT, max_norm, &norm_a));
    CHECK_OK(ctx, porta_optimizer_step(opt_a, lr));
    CHECK_OK(ctx, porta_optimizer_clip_step(opt_b, max_norm, lr, &norm_b));
    norms_equal = norms_equal && memcmp(&norm_a, &norm_b, sizeof(float)) == 0;
    for (int i = 0; i < CS_COUNT; i++) {
      grads_changed += tensors_differ(porta_tensor_grad(b[i]), g[i]);
      porta_tensor_free(g[i]);
    }
  }
  for (int i = 0; i < CS_COUNT; i++) {
    differ += tensors_differ(a[i], b[i]);
    values += cs_sizes[i];
    for (int slot = 0; slot < (adamw ? 2 : 1); slot++) {
      differ += tensors_differ(porta_optimizer_state(opt_a, i, slot),
                               porta_optimizer_state(opt_b, i, slot));
      values += cs_sizes[i];
    }
  }
  const char *name = adamw ? "AdamW" : "SGD";
  printf("%s clip+step fused == clip then step (%s, max_norm %g): %lld of %lld values differ, "
         "norm %.9g vs %.9g\n",
         differ == 0 && norms_equal ? "ok  " : "FAIL", name, (double)max_norm, (long long)differ,
         (long long)values, (double)norm_b, (double)norm_a);
  check_count(&checks, differ == 0 && norms_equal);
  /* The gradients: untouched by the fused AdamW; SGD (and no clipping) as clip_grad_norm leaves
   * them. */
  bool clipped = max_norm > 0.0f && max_norm < norm_a;
  bool want_changed = clipped && !adamw;
  bool grads_ok = (grads_changed > 0) == want_changed;
  printf("%s clip+step %s, max_norm %g: gradients %s (%lld values changed)\n",
         grads_ok ? "ok  " : "FAIL", name, (double)max_norm,
         want_changed ? "clipped in place" : "left as backward made them",
         (long long)grads_changed);
  check_count(&checks, grads_ok);
  porta_optimizer_free(opt_a);
  porta_optimizer_free(opt_b);
  for (int i = 0; i < CS_COUNT; i++) {
    porta_tensor_free(a[i]);
    porta_tensor_free(b[i]);
  }
}

/* porta_adamw_args.grad_scale on the backend directly, with the four refs at element offsets that
 * are all 16-byte aligned or not (the Vulkan shader moves vec4s only when all are) and n with
 * every tail length: equal bit for bit to a SCALE of the gradient, then AdamW without a scale,
 * padding untouched. */
static void test_grad_scale_offsets(check_rng *rng) {
  enum { N = 203, LEN = N + 8 };
  static const int offs[3][4] = {{0, 0, 0, 0}, {1, 3, 2, 0}, {2, 2, 2, 2}};
  static const int64_t ns[4] = {N, 200, 201, 2};
  static float host[4][LEN], got[2][LEN];
  const float lo[4] = {-1.0f, -3.0f, -0.1f, 0.0f}, hi[4] = {1.0f, 3.0f, 0.1f, 0.01f};
  const float scale = 0.37f;
  int64_t differ = 0, cases = 0;
  for (int c = 0; c < 3; c++) {
    for (int k = 0; k < 4; k++) {
      porta_tensor *t[2][4]; /* [fused, reference][param, grad, m, v] */
      int64_t len = LEN;
      for (int j = 0; j < 4; j++) {
        check_fill_uniform(rng, host[j], LEN, lo[j], hi[j]);
        for (int r = 0; r < 2; r++)
          CHECK_OK(ctx, porta_tensor_from_host(ctx, &t[r][j], PORTA_F32, 1, &len, host[j]));
      }
      porta_adamw_args a[2];
      for (int r = 0; r < 2; r++) {
        porta_ref ref[4];
        for (int j = 0; j < 4; j++) {
          ref[j] = porta_tensor_ref(t[r][j]);
          ref[j].off += (size_t)offs[c][j];
        }
        a[r] = (porta_adamw_args){.param = ref[0],
                                  .grad = ref[1],
                                  .m = ref[2],
                                  .v = ref[3],
                                  .n = ns[k],
                                  .lr = 1e-3,
                                  .beta1 = 0.9,
                                  .beta2 = 0.999,
                                  .eps = 1e-8,
                                  .weight_decay = 0.01,
                                  .bias_correction1 = 1.0 - pow(0.9, 3.0),
                                  .bias_correction2 = 1.0 - pow(0.999, 3.0),
                                  .grad_scale = r == 0 ? scale : 0.0f};
      }
      porta_unary_args u = {.op = PORTA_UNARY_SCALE,
                            .out = a[1].grad,
                            .x = a[1].grad,
                            .n = ns[k],
                            .alpha = scale,
                            .beta = 0.0f};
      CHECK_OK(ctx, porta_run(ctx, "test", &a[0]));
      CHECK_OK(ctx, porta_run(ctx, "test", &u));
      CHECK_OK(ctx, porta_run(ctx, "test", &a[1]));
      for (int j = 0; j < 4; j++) {
        if (j == 1) continue; /* the reference's gradient is scaled, the fused one's is not */
        for (int r = 0; r < 2; r++) CHECK_OK(ctx, porta_tensor_download(t[r][j], got[r], LEN));
        differ += bits_differ(got[0], got[1], LEN);
      }
      CHECK_OK(ctx, porta_tensor_download(t[0][1], got[0], LEN));
      differ += bits_differ(got[0], host[1], LEN);
      cases++;
      for (int r = 0; r < 2; r++)
        for (int j = 0; j < 4; j++) porta_tensor_free(t[r][j]);
    }
  }
  printf("%s adamw grad_scale == scale then adamw: %lld cases (offsets aligned or not, n = 203, "
         "200, 201, 2), %lld values differ\n",
         differ ? "FAIL" : "ok  ", (long long)cases, (long long)differ);
  check_count(&checks, differ == 0);
}

static void test_sgd(void) {
  porta_tensor *p = from_record("sgd_init", true);
  porta_optimizer *opt;
  CHECK_OK(ctx, porta_sgd_create(&opt, ctx, &p, 1, 0.1f, 0.9f, 0.01f));
  for (int step = 0; step < 3; step++) {
    char rg[64], rp[64], what[64];
    snprintf(rg, sizeof rg, "sgd_g_step%d", step);
    snprintf(rp, sizeof rp, "sgd_p_step%d", step);
    porta_tensor *g = from_record(rg, false);
    CHECK_OK(ctx, porta_optimizer_zero_grad(opt));
    set_grads(&p, &g, 1);
    CHECK_OK(ctx, porta_optimizer_step(opt, 0.1f));
    snprintf(what, sizeof what, "SGD momentum step %d", step + 1);
    compare_tensor(what, p, rp);
    porta_tensor_free(g);
  }
  porta_optimizer_free(opt);
  porta_tensor_free(p);
}

static void test_clip(const char *name) {
  char r[64];
  float max_norm, want_total;
  snprintf(r, sizeof r, "%s_max_norm", name);
  load(r, &max_norm);
  snprintf(r, sizeof r, "%s_total", name);
  load(r, &want_total);
  porta_tensor *p[2], *g[2];
  snprintf(r, sizeof r, "%s_ga", name);
  g[0] = from_record(r, false);
  snprintf(r, sizeof r, "%s_gb", name);
  g[1] = from_record(r, false);
  for (int i = 0; i < 2; i++) {
    int64_t n = porta_tensor_numel(g[i]);
    CHECK_OK(ctx, porta_tensor_zeros(ctx, &p[i], PORTA_F32, 1, &n));
    CHECK_OK(ctx, porta_tensor_set_requires_grad(p[i], true));
  }
  set_grads(p, g, 2);
  float total;
  CHECK_OK(ctx, porta_clip_grad_norm(ctx, p, 2, max_norm, &total));
  char what[64];
  snprintf(what, sizeof what, "clip_grad_norm %s: total norm", name);
  compare(what, &total, &want_total, 1);
  snprintf(what, sizeof what, "clip_grad_norm %s: grad a", name);
  snprintf(r, sizeof r, "%s_ga_after", name);
  compare_tensor(what, porta_tensor_grad(p[0]), r);
  snprintf(what, sizeof what, "clip_grad_norm %s: grad b", name);
  snprintf(r, sizeof r, "%s_gb_after", name);
  compare_tensor(what, porta_tensor_grad(p[1]), r);
  for (int i = 0; i < 2; i++) {
    porta_tensor_free(p[i]);
    porta_tensor_free(g[i]);
  }
}

static void test_schedule(void) {
  float want[MAXV], got[MAXV];
  int n = load("lr_linear_w3_t10_base1e-3", want);
  for (int s = 0; s < n; s++) got[s] = porta_lr_linear(s, 3, 10, 1e-3f);
  compare("lr_linear warmup 3, total 10 (0..12)", got, want, n);
  printf("     lr: %g %g %g %g ... %g %g\n", (double)got[0], (double)got[1], (double)got[3],
         (double)got[4], (double)got[9], (double)got[12]);
}

int main(void) {
  porta_backend_kind kinds[3] = {PORTA_BACKEND_CPU, PORTA_BACKEND_OPENCL, PORTA_BACKEND_VULKAN};
  for (int k = 0; k < 3; k++) {
    const char *name = porta_backend_name(kinds[k]);
    if (!check_env_selects("PORTA_TEST_BACKENDS", name)) {
      printf("---- %s skipped: not in PORTA_TEST_BACKENDS\n", name);
      continue;
    }
    porta_context_options opt;
    porta_context_options_init(&opt);
    opt.backend = kinds[k];
    char err[512];
    if (porta_context_create(&ctx, &opt, err, sizeof err) != PORTA_OK) {
      printf("%s %s: %s\n", kinds[k] == PORTA_BACKEND_CPU ? "FAIL" : "---- skipped", name, err);
      if (kinds[k] == PORTA_BACKEND_CPU) return 1;
      continue;
    }
    printf("---- %s: %s\n", name, porta_context_device(ctx)->name);
    adamw_worst w = {0};
    test_adamw(&w);
    test_adamw_small_beta1(&w);
    check_rng rng = check_rng_make(99);
    test_adamw_spec(&rng, 0.9);
    test_adamw_spec(&rng, 0.2);
    test_adamw_groups(&rng);
    printf("     %s AdamW vs torch, max rel err: param %.2e, exp_avg %.2e, exp_avg_sq %.2e\n", name,
           w.param, w.exp_avg, w.exp_avg_sq);
    const float max_norms[3] = {0.5f, 1e6f, 0.0f};
    for (int i = 0; i < 3; i++) {
      test_clip_step(&rng, true, max_norms[i]);
      test_clip_step(&rng, false, max_norms[i]);
    }
    test_grad_scale_offsets(&rng);
    test_sgd();
    test_clip("clip");
    test_clip("noclip");
    test_schedule();
    porta_context_destroy(ctx);
  }
  return check_finish(&checks);
}
