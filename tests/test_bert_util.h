/* Shared by test_bert_parity.c, test_heads.c, test_bert_save.c and test_minilm.c: reading the
 * PyTorch fixtures (safetensors files written by tools/gen_bert_fixtures.py), comparing tensors
 * by normalised error, and creating a context per backend. Header-only: each test is its own
 * executable. */
#ifndef PORTA_TEST_BERT_UTIL_H
#define PORTA_TEST_BERT_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "porta/porta.h"

/* The fixture tensor `name` as f32 (malloc'd; numel in *n), or NULL with a message. */
static inline float *fx_f32(const porta_weights *w, const char *name, int64_t *n) {
  int i = porta_weights_find(w, name);
  if (i < 0) {
    fprintf(stderr, "fixture: no tensor %s\n", name);
    return NULL;
  }
  int64_t numel = porta_weights_numel(w, i);
  float *data = malloc((size_t)numel * sizeof *data);
  char err[512];
  if (!data || porta_weights_read_f32(w, i, data, (size_t)numel, err, sizeof err) != PORTA_OK) {
    fprintf(stderr, "fixture: cannot read %s: %s\n", name, data ? err : "out of memory");
    free(data);
    return NULL;
  }
  if (n) *n = numel;
  return data;
}

/* An integer fixture tensor as int32 (malloc'd). */
static inline int32_t *fx_i32(const porta_weights *w, const char *name, int64_t *n) {
  int i = porta_weights_find(w, name);
  if (i < 0) {
    fprintf(stderr, "fixture: no tensor %s\n", name);
    return NULL;
  }
  int64_t numel = porta_weights_numel(w, i);
  int64_t *wide = malloc((size_t)numel * sizeof *wide);
  int32_t *data = malloc((size_t)numel * sizeof *data);
  char err[512];
  if (!wide || !data || porta_weights_read_i64(w, i, wide, (size_t)numel, err, sizeof err)) {
    fprintf(stderr, "fixture: cannot read %s\n", name);
    free(wide);
    free(data);
    return NULL;
  }
  for (int64_t k = 0; k < numel; k++) data[k] = (int32_t)wide[k];
  free(wide);
  if (n) *n = numel;
  return data;
}

/* ‖got − want‖₂ / max(‖want‖₂, 1e-6): the normalised error of ggml's test-backend-ops. */
static inline double nerr(const float *got, const float *want, int64_t n, double *max_abs) {
  double num = 0, den = 0, mx = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = (double)got[i] - (double)want[i];
    if (!isfinite(got[i])) d = INFINITY;
    num += d * d;
    den += (double)want[i] * want[i];
    if (fabs(d) > mx) mx = fabs(d);
  }
  if (max_abs) *max_abs = mx;
  return sqrt(num) / fmax(sqrt(den), 1e-6);
}

/* Downloads t and compares it with the fixture tensor `name`. Returns the number of failures
 * (0 or 1) and prints one line either way. */
static inline int check_tensor(const char *label, porta_tensor *t, const porta_weights *w,
                               const char *name, double tol) {
  int64_t n = 0;
  float *want = fx_f32(w, name, &n);
  if (!want) return 1;
  if (!t || porta_tensor_numel(t) != n) {
    printf("FAIL %-58s %s: porta has %lld elements, PyTorch %lld\n", name, label,
           t ? (long long)porta_tensor_numel(t) : 0LL, (long long)n);
    free(want);
    return 1;
  }
  float *got = malloc((size_t)n * sizeof *got);
  int bad = 1;
  if (got && porta_tensor_download(t, got, (size_t)n) == PORTA_OK) {
    double mx, e = nerr(got, want, n, &mx), norm = 0;
    for (int64_t i = 0; i < n; i++) norm += (double)want[i] * want[i];
    if (sqrt(norm) < 1e-6) {
      /* zero in exact arithmetic (e.g. the key bias's gradient: softmax ignores a constant
       * added to every score of a row): both sides are rounding noise, compare absolutely */
      bad = !(mx <= 1e-6);
      printf("%s %-58s %s: ≈0 (‖want‖ %.1e), max|diff| %.2e (tol 1e-06 absolute)\n",
             bad ? "FAIL" : "ok  ", name, label, sqrt(norm), mx);
    } else {
      bad = !(e <= tol);
      printf("%s %-58s %s: nerr %.2e max|diff| %.2e (tol %.0e)\n", bad ? "FAIL" : "ok  ", name,
             label, e, mx, tol);
    }
  } else {
    printf("FAIL %-58s %s: download failed\n", name, label);
  }
  free(got);
  free(want);
  return bad;
}

static inline const char *backend_label(porta_backend_kind k) { return porta_backend_name(k); }

/* A context on backend k in eval mode, or NULL after printing "skipped: <reason>". */
static inline porta_context *open_backend(porta_backend_kind k, const char *test) {
  if (!porta_backend_compiled(k)) {
    printf("%s [%s] skipped: backend not compiled in\n", test, porta_backend_name(k));
    return NULL;
  }
  porta_context_options o;
  porta_context_options_init(&o);
  o.backend = k;
  o.device = 0;
  o.seed = 42;
  char err[1024];
  porta_context *ctx = NULL;
  if (porta_context_create(&ctx, &o, err, sizeof err) != PORTA_OK) {
    printf("%s [%s] skipped: %s\n", test, porta_backend_name(k), err);
    return NULL;
  }
  porta_set_training(ctx, false);
  return ctx;
}

/* Finds a parameter by name in a porta_model_parameters listing. */
static inline porta_tensor *find_param(const porta_param *params, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (!strcmp(params[i].name, name)) return params[i].tensor;
  return NULL;
}

#endif
