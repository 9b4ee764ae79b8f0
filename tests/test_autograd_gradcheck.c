/* Every differentiable op's backward on the CPU backend against central finite differences.
 *
 * loss = Σ out ⊙ R with a fixed random R. The analytic gradient comes from porta_backward; the
 * numeric one from f32 forward passes at x ± h (h = 1e-2), with the loss summed in double on the
 * host. Pass: max_j |analytic_j - numeric_j| / max(max_j |numeric_j|, 1e-3) ≤ 2e-2 (the error
 * normalised by the gradient's scale, so tiny entries do not need a hopeless relative match). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "helpers/check.h"
#include "porta/porta.h"

#define STEP 1e-2
#define TOL 2e-2

static porta_context *ctx;
static check_counter checks;
static uint64_t rng = 0x9E3779B97F4A7C15ull;

#define S(...) ((const int64_t[]){__VA_ARGS__})

static float uniform(float lo, float hi) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return lo + (hi - lo) * (float)((rng >> 40) * (1.0 / 16777216.0));
}

/* A caller-owned f32 tensor with values in ±[lo, hi] (random sign when lo > 0 and signed). */
static porta_tensor *rand_tensor(int ndim, const int64_t *shape, float lo, float hi, bool signed_,
                                 bool requires_grad) {
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) n *= shape[i];
  float *h = malloc((size_t)n * sizeof *h);
  for (int64_t i = 0; i < n; i++) {
    h[i] = uniform(lo, hi);
    if (signed_ && uniform(0, 1) < 0.5f) h[i] = -h[i];
  }
  porta_tensor *t;
  CHECK_OK(ctx, porta_tensor_from_host(ctx, &t, PORTA_F32, ndim, shape, h));
  free(h);
  if (requires_grad) CHECK_OK(ctx, porta_tensor_set_requires_grad(t, true));
  return t;
}

/* ---- the check ----------------------------------------------------------------------------- */

typedef porta_status (*forward_fn)(porta_tensor **out, porta_tensor **in, const void *extra);

#define MAX_IN 4

static double loss_on_host(forward_fn f, porta_tensor **in, const void *extra, const float *r,
                           int64_t n_out) {
  porta_set_rng_stream(ctx, 777); /* dropout draws the same mask every evaluation */
  porta_no_grad_begin(ctx);
  porta_tensor *out;
  CHECK_OK(ctx, f(&out, in, extra));
  porta_no_grad_end(ctx);
  float *o = malloc((size_t)n_out * sizeof *o);
  CHECK_OK(ctx, porta_tensor_download(out, o, (size_t)n_out));
  double loss = 0.0;
  for (int64_t i = 0; i < n_out; i++) loss += (double)o[i] * (double)r[i];
  free(o);
  porta_release_temporaries(ctx);
  return loss;
}

/* Checks d(Σ f(in) ⊙ R)/d in[i] for every input that requires grad. Frees the inputs. */
static void gradcheck(const char *name, forward_fn f, porta_tensor **in, int n_in,
                      const void *extra) {
  /* Analytic pass. */
  porta_set_rng_stream(ctx, 777);
  porta_tensor *out, *prod, *loss, *r;
  CHECK_OK(ctx, f(&out, in, extra));
  int64_t n_out = porta_tensor_numel(out);
  float *rh = malloc((size_t)n_out * sizeof *rh);
  for (int64_t i = 0; i < n_out; i++) rh[i] = uniform(-1, 1);
  int64_t shape[4];
  for (int i = 0; i < porta_tensor_ndim(out); i++) shape[i] = porta_tensor_dim(out, i);
  CHECK_OK(ctx, porta_tensor_from_host(ctx, &r, PORTA_F32, porta_tensor_ndim(out), shape, rh));
  CHECK_OK(ctx, porta_mul(&prod, out, r));
  CHECK_OK(ctx, porta_sum_all(&loss, prod));
  CHECK_OK(ctx, porta_backward(loss));
  porta_release_temporaries(ctx);
  porta_tensor_free(r);

  for (int i = 0; i < n_in; i++) {
    if (!porta_tensor_requires_grad(in[i])) continue;
    int64_t n = porta_tensor_numel(in[i]);
    float *x = malloc((size_t)n * sizeof *x), *ga = malloc((size_t)n * sizeof *ga);
    CHECK_OK(ctx, porta_tensor_download(in[i], x, (size_t)n));
    porta_tensor *g = porta_tensor_grad(in[i]);
    if (!g) {
      printf("FAIL %-44s input %d got no gradient\n", name, i);
      check_count(&checks, false);
      free(x);
      free(ga);
      continue;
    }
    CHECK_OK(ctx, porta_tensor_download(g, ga, (size_t)n));
    double max_err = 0.0, max_num = 0.0;
    int64_t worst = 0;
    double worst_num = 0.0;
    for (int64_t j = 0; j < n; j++) {
      float saved = x[j];
      x[j] = (float)(saved + STEP);
      CHECK_OK(ctx, porta_tensor_upload(in[i], x, (size_t)n));
      double lp = loss_on_host(f, in, extra, rh, n_out);
      x[j] = (float)(saved - STEP);
      CHECK_OK(ctx, porta_tensor_upload(in[i], x, (size_t)n));
      double lm = loss_on_host(f, in, extra, rh, n_out);
      x[j] = saved;
      double num = (lp - lm) / ((double)(float)(saved + STEP) - (double)(float)(saved - STEP));
      double err = fabs(num - (double)ga[j]);
      if (fabs(num) > max_num) max_num = fabs(num);
      if (err > max_err) {
        max_err = err;
        worst = j;
        worst_num = num;
      }
    }
    CHECK_OK(ctx, porta_tensor_upload(in[i], x, (size_t)n));
    double rel = max_err / (max_num > 1e-3 ? max_num : 1e-3);
    bool ok = rel <= TOL;
    char sh[64];
    printf("%s %-44s in%d %-12s rel err %.2e (worst [%lld] analytic %.6f numeric %.6f)\n",
           ok ? "ok  " : "FAIL", name, i, porta_tensor_shape_string(in[i], sh, sizeof sh), rel,
           (long long)worst, (double)ga[worst], worst_num);
    check_count(&checks, ok);
    free(x);
    free(ga);
  }
  free(rh);
  for (int i = 0; i < n_in; i++) porta_tensor_free(in[i]);
}

/* ---- forward functions --------------------------------------------------------------------- */

static porta_status f_add(porta_tensor **o, porta_tensor **in, const void *e) {
  return porta_add(o, in[0], in[1]);
}
static porta_status f_sub(porta_tensor **o, porta_tensor **in, const void *e) {
  return porta_sub(o, in[0], in[1]);
}
static porta_status f_mul(porta_tensor **o, porta_tensor **in, const void *e) {
  return porta_mul(o, in[0], in[1]);
}
static porta_status f_div(porta_tensor **o, porta_tensor **in, const void *e) {
  return porta_div(o, in[0], in[1]);
}
/* y = x·x + x: x used three times */
static porta_status f_square_plus(porta_tensor **o, porta_tensor **in, const void *e) {
  porta_tensor *sq;
  porta_status st = porta_mul(&sq, in[0], in[0]);
  return st ? st : porta_add(o, sq, in[0]);
}
static porta_status f_scale(porta_tensor **o, porta_tensor **in, const void *e) {
  return porta_scale(o, in[0], -1.7f);
}
static porta_status f_gelu(porta_tensor **o, porta_tensor **in, const void *e) {
  return porta_gelu(o, in[0]);
}
static porta_status f_tanh(porta_tensor **o, porta_tensor **in, const void *e) {
  return porta_tanh(o, in[0]);
}
static porta_status f_relu(porta_tensor **o, porta_tensor **in, const void *e) {
  return porta_relu(o, in[0]);
}
static porta_status f_matmul(porta_tensor **o, porta_tensor **in, const void *e) {
  const bool *t = e;
  return porta_matmul(o, in[0], in[1], t[0], t[1]);
}
static porta_status f_linear(porta_tensor **o, porta_tensor **in, const void *e) {
  return porta_linear(o, in[0], in[1], in[2]);
}
static porta_status f_softmax(porta_tensor **o, porta_tensor **in, const void *e) {
  return porta_softmax(o, in[0], in[1]);
}
static porta_status f_layer_norm(porta_tensor **o, porta_tensor **in, const void *e) {
  return porta_layer_norm(o, in[0], in[1], in[2], 1e-5f);
}
static porta_status f_embedding(porta_tensor **o, porta_tensor **in, const void *e) {
  return porta_embedding(o, in[0], in[1]);
}
static porta_status f_dropout(porta_tensor **o, porta_tensor **in, const void *e) {
  return porta_dropout(o, in[0], 0.3f);
}
static porta_status f_cross_entropy(porta_tensor **o, porta_tensor **in, const void *e) {
  return porta_cross_entropy(o, in[0], in[1]);
}
static porta_status f_reshape(porta_tensor **o, porta_tensor **in, const void *e) {
  return porta_reshape(o, in[0], 2, S(7, -1));
}
static porta_status f_permute(porta_tensor **o, porta_tensor **in, const void *e) {
  return porta_permute(o, in[0], (const int[]){2, 0, 1});
}
static porta_status f_select(porta_tensor **o, porta_tensor **in, const void *e) {
  const int *d = e;
  return porta_select(o, in[0], d[0], d[1]);
}
static porta_status f_slice(porta_tensor **o, porta_tensor **in, const void *e) {
  const int *d = e;
  return porta_slice(o, in[0], d[0], d[1], d[2]);
}
static porta_status f_sum(porta_tensor **o, porta_tensor **in, const void *e) {
  const int *d = e;
  return porta_sum(o, in[0], d[0], d[1]);
}
static porta_status f_mean(porta_tensor **o, porta_tensor **in, const void *e) {
  const int *d = e;
  return porta_mean(o, in[0], d[0], d[1]);
}
static porta_status f_sum_all(porta_tensor **o, porta_tensor **in, const void *e) {
  return porta_sum_all(o, in[0]);
}
static porta_status f_mean_all(porta_tensor **o, porta_tensor **in, const void *e) {
  return porta_mean_all(o, in[0]);
}
static porta_status f_attention(porta_tensor **o, porta_tensor **in, const void *e) {
  return porta_attention(o, NULL, in[0], in[1], in[2], in[3]);
}
static porta_status f_attention_dropout(porta_tensor **o, porta_tensor **in, const void *e) {
  return porta_attention_dropout(o, NULL, in[0], in[1], in[2], in[3], 0.25f);
}
static porta_status f_attention_heads(porta_tensor **o, porta_tensor **in, const void *e) {
  return porta_attention_heads(o, NULL, in[0], in[1], in[2], in[3], 2, 0.25f);
}
/* A small block: layer_norm(gelu(x·wᵀ + b)) summed over the last dim, then a slice view. */
static porta_status f_block(porta_tensor **o, porta_tensor **in, const void *e) {
  porta_tensor *h, *g, *n;
  porta_status st = porta_linear(&h, in[0], in[1], in[2]);
  if (!st) st = porta_gelu(&g, h);
  if (!st) st = porta_layer_norm(&n, g, in[3], in[3], 1e-5f); /* gamma = beta: used twice */
  if (!st) st = porta_slice(o, n, 0, 1, 2);
  return st;
}

int main(void) {
  porta_context_options opt;
  porta_context_options_init(&opt);
  opt.backend = PORTA_BACKEND_CPU;
  const char *env = getenv("PORTA_GRADCHECK_BACKEND");
  if (env && porta_backend_parse(env, &opt.backend) != PORTA_OK) {
    fprintf(stderr, "FAIL PORTA_GRADCHECK_BACKEND=%s is not a backend name\n", env);
    return 1;
  }
  opt.seed = 99;
  char err[512];
  if (porta_context_create(&ctx, &opt, err, sizeof err) != PORTA_OK) {
    fprintf(stderr, "FAIL context: %s\n", err);
    return 1;
  }
  printf("gradcheck on %s: step %g, pass when max|a-n| / max(max|n|, 1e-3) <= %g\n",
         porta_backend_name(porta_context_backend(ctx)), STEP, TOL);
  porta_tensor *in[MAX_IN];

  /* Elementwise with broadcasting. */
  in[0] = rand_tensor(3, S(3, 5, 7), -1, 1, false, true);
  in[1] = rand_tensor(2, S(5, 1), -1, 1, false, true);
  gradcheck("add [3,5,7] + [5,1]", f_add, in, 2, NULL);
  in[0] = rand_tensor(3, S(3, 1, 7), -1, 1, false, true);
  in[1] = rand_tensor(2, S(5, 7), -1, 1, false, true);
  gradcheck("sub [3,1,7] - [5,7]", f_sub, in, 2, NULL);
  in[0] = rand_tensor(3, S(3, 5, 7), -1, 1, false, true);
  in[1] = rand_tensor(1, S(7), -1, 1, false, true);
  gradcheck("mul [3,5,7] * [7]", f_mul, in, 2, NULL);
  in[0] = rand_tensor(3, S(3, 5, 7), -1, 1, false, true);
  in[1] = rand_tensor(3, S(3, 1, 1), 1, 2, true, true);
  gradcheck("div [3,5,7] / [3,1,1]", f_div, in, 2, NULL);
  in[0] = rand_tensor(2, S(4, 1), -1, 1, false, true);
  in[1] = rand_tensor(3, S(2, 4, 3), 1, 2, true, true); /* divisors away from 0 */
  gradcheck("div [4,1] / [2,4,3] (b broadcasts a)", f_div, in, 2, NULL);
  in[0] = rand_tensor(3, S(3, 5, 7), -1, 1, false, true);
  gradcheck("x*x + x (accumulation)", f_square_plus, in, 1, NULL);

  /* Unary. */
  in[0] = rand_tensor(3, S(3, 5, 7), -2, 2, false, true);
  gradcheck("scale -1.7", f_scale, in, 1, NULL);
  in[0] = rand_tensor(3, S(3, 5, 7), -3, 3, false, true);
  gradcheck("gelu", f_gelu, in, 1, NULL);
  in[0] = rand_tensor(3, S(3, 5, 7), -2, 2, false, true);
  gradcheck("tanh", f_tanh, in, 1, NULL);
  in[0] = rand_tensor(3, S(3, 5, 7), 0.05f, 2, true, true); /* away from the kink */
  gradcheck("relu", f_relu, in, 1, NULL);

  /* matmul, every transpose combination, batched and shared b. */
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      bool t[2] = {ta, tb};
      char name[64];
      in[0] = rand_tensor(3, ta ? S(2, 5, 3) : S(2, 3, 5), -1, 1, false, true);
      in[1] = rand_tensor(3, tb ? S(2, 4, 5) : S(2, 5, 4), -1, 1, false, true);
      snprintf(name, sizeof name, "matmul batched ta=%d tb=%d", ta, tb);
      gradcheck(name, f_matmul, in, 2, t);
      in[0] = rand_tensor(3, ta ? S(3, 5, 3) : S(3, 3, 5), -1, 1, false, true);
      in[1] = rand_tensor(2, tb ? S(4, 5) : S(5, 4), -1, 1, false, true);
      snprintf(name, sizeof name, "matmul shared b ta=%d tb=%d", ta, tb);
      gradcheck(name, f_matmul, in, 2, t);
    }
  in[0] = rand_tensor(3, S(2, 3, 5), -1, 1, false, true);
  in[1] = rand_tensor(2, S(4, 5), -1, 1, false, true);
  in[2] = rand_tensor(1, S(4), -1, 1, false, true);
  gradcheck("linear [2,3,5]·[4,5]ᵀ + [4]", f_linear, in, 3, NULL);

  /* softmax with a broadcast mask (no grad into the mask) */
  in[0] = rand_tensor(3, S(3, 5, 7), -2, 2, false, true);
  in[1] = rand_tensor(3, S(3, 1, 7), -1, 0, false, false);
  gradcheck("softmax [3,5,7] mask [3,1,7]", f_softmax, in, 2, NULL);
  in[0] = rand_tensor(3, S(3, 5, 7), -2, 2, false, true);
  in[1] = rand_tensor(2, S(5, 7), -1, 0, false, false);
  gradcheck("softmax [3,5,7] mask [5,7] (expanded)", f_softmax, in, 2, NULL);

  in[0] = rand_tensor(3, S(3, 5, 7), -2, 2, false, true);
  in[1] = rand_tensor(1, S(7), 0.5f, 1.5f, false, true);
  in[2] = rand_tensor(1, S(7), -1, 1, false, true);
  gradcheck("layer_norm [3,5,7]", f_layer_norm, in, 3, NULL);

  {
    in[0] = rand_tensor(2, S(6, 4), -1, 1, false, true);
    int32_t ids[6] = {1, 4, 1, 0, 5, 1}; /* id 1 three times */
    CHECK_OK(ctx, porta_tensor_from_host(ctx, &in[1], PORTA_I32, 2, S(2, 3), ids));
    gradcheck("embedding [6,4] ids [2,3] (repeats)", f_embedding, in, 2, NULL);
  }
  in[0] = rand_tensor(3, S(3, 5, 7), -1, 1, false, true);
  gradcheck("dropout p=0.3", f_dropout, in, 1, NULL);
  {
    in[0] = rand_tensor(2, S(5, 7), -2, 2, false, true);
    int32_t labels[5] = {3, -100, 0, 6, 3};
    CHECK_OK(ctx, porta_tensor_from_host(ctx, &in[1], PORTA_I32, 1, S(5), labels));
    gradcheck("cross_entropy [5,7] (one ignored)", f_cross_entropy, in, 2, NULL);
  }

  /* shape ops and reductions */
  in[0] = rand_tensor(3, S(3, 5, 7), -1, 1, false, true);
  gradcheck("reshape [3,5,7] -> [7,-1]", f_reshape, in, 1, NULL);
  in[0] = rand_tensor(3, S(3, 5, 7), -1, 1, false, true);
  gradcheck("permute (2,0,1)", f_permute, in, 1, NULL);
  in[0] = rand_tensor(3, S(3, 5, 7), -1, 1, false, true);
  gradcheck("select dim 1 index 2", f_select, in, 1, (const int[]){1, 2});
  in[0] = rand_tensor(3, S(3, 5, 7), -1, 1, false, true);
  gradcheck("select dim 0 index 1", f_select, in, 1, (const int[]){0, 1});
  in[0] = rand_tensor(3, S(3, 5, 7), -1, 1, false, true);
  gradcheck("slice dim 2 [2,6)", f_slice, in, 1, (const int[]){2, 2, 4});
  in[0] = rand_tensor(3, S(3, 5, 7), -1, 1, false, true);
  gradcheck("slice dim 0 [1,3) (view)", f_slice, in, 1, (const int[]){0, 1, 2});
  in[0] = rand_tensor(3, S(3, 5, 7), -1, 1, false, true);
  gradcheck("sum dim 1", f_sum, in, 1, (const int[]){1, 0});
  in[0] = rand_tensor(3, S(3, 5, 7), -1, 1, false, true);
  gradcheck("sum dim 0 keepdim", f_sum, in, 1, (const int[]){0, 1});
  in[0] = rand_tensor(3, S(3, 5, 7), -1, 1, false, true);
  gradcheck("mean dim -1", f_mean, in, 1, (const int[]){-1, 0});
  in[0] = rand_tensor(3, S(3, 5, 7), -1, 1, false, true);
  gradcheck("sum_all", f_sum_all, in, 1, NULL);
  in[0] = rand_tensor(3, S(3, 5, 7), -1, 1, false, true);
  gradcheck("mean_all", f_mean_all, in, 1, NULL);

  /* attention with a key mask: q [2,2,3,4], k [2,2,5,4], v [2,2,5,3] */
  {
    in[0] = rand_tensor(4, S(2, 2, 3, 4), -1, 1, false, true);
    in[1] = rand_tensor(4, S(2, 2, 5, 4), -1, 1, false, true);
    in[2] = rand_tensor(4, S(2, 2, 5, 3), -1, 1, false, true);
    float mask[10] = {0, 0, -1e9f, 0, 0, 0, 0, 0, -1e9f, -1e9f};
    CHECK_OK(ctx, porta_tensor_from_host(ctx, &in[3], PORTA_F32, 2, S(2, 5), mask));
    gradcheck("attention masked [2,2,3,4] x [2,2,5,4]", f_attention, in, 4, NULL);
    in[0] = rand_tensor(4, S(2, 2, 3, 4), -1, 1, false, true);
    in[1] = rand_tensor(4, S(2, 2, 5, 4), -1, 1, false, true);
    in[2] = rand_tensor(4, S(2, 2, 5, 3), -1, 1, false, true);
    CHECK_OK(ctx, porta_tensor_from_host(ctx, &in[3], PORTA_F32, 2, S(2, 5), mask));
    gradcheck("attention masked + dropout 0.25", f_attention_dropout, in, 4, NULL);
    /* the heads side by side: q [2,3,2·4], k [2,5,2·4], v [2,5,2·3] */
    in[0] = rand_tensor(3, S(2, 3, 8), -1, 1, false, true);
    in[1] = rand_tensor(3, S(2, 5, 8), -1, 1, false, true);
    in[2] = rand_tensor(3, S(2, 5, 6), -1, 1, false, true);
    CHECK_OK(ctx, porta_tensor_from_host(ctx, &in[3], PORTA_F32, 2, S(2, 5), mask));
    gradcheck("attention_heads 2 heads masked + dropout 0.25", f_attention_heads, in, 4, NULL);
  }
  in[0] = rand_tensor(3, S(3, 3, 5), -1, 1, false, true);
  in[1] = rand_tensor(2, S(6, 5), -1, 1, false, true);
  in[2] = rand_tensor(1, S(6), -1, 1, false, true);
  in[3] = rand_tensor(1, S(6), 0.5f, 1.5f, false, true);
  gradcheck("block linear-gelu-layer_norm-slice", f_block, in, 4, NULL);

  porta_context_destroy(ctx);
  return check_finish(&checks);
}
