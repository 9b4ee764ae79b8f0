/* Context-level behaviour: status and backend names, device listing, environment variables
 * (PORTA_BACKEND, PORTA_DEVICE, PORTA_PROFILE), the training flag and dropout stream, the
 * allocator's size classes, and the profile report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "porta/porta.h"

static int failures = 0;

static void expect(bool ok, const char *fmt, const char *detail) {
  printf("%s ", ok ? "ok  " : "FAIL");
  printf(fmt, detail ? detail : "");
  printf("\n");
  if (!ok) failures++;
}

#define S(...) ((const int64_t[]){__VA_ARGS__})

static void test_names(void) {
  bool all = true;
  for (int s = 0; s <= PORTA_ERR_BUILD; s++)
    all = all && strncmp(porta_status_string((porta_status)s), "PORTA_", 6) == 0;
  expect(all && strcmp(porta_status_string(PORTA_ERR_SHAPE), "PORTA_ERR_SHAPE") == 0,
         "status strings (PORTA_ERR_SHAPE -> %s)", porta_status_string(PORTA_ERR_SHAPE));
  expect(strcmp(porta_status_string((porta_status)99), "PORTA_ERR_UNKNOWN") == 0,
         "unknown status -> %s", porta_status_string((porta_status)99));
  const char *names[] = {"auto", "cpu", "opencl", "vulkan"};
  bool round_trip = true;
  for (int k = 0; k < 4; k++) {
    porta_backend_kind kind;
    round_trip = round_trip && porta_backend_parse(names[k], &kind) == PORTA_OK &&
                 strcmp(porta_backend_name(kind), names[k]) == 0;
  }
  expect(round_trip, "backend names round-trip%s", NULL);
  expect(porta_backend_compiled(PORTA_BACKEND_CPU), "cpu backend compiled%s", NULL);
  char detail[96];
  snprintf(detail, sizeof detail, "opencl %d, vulkan %d",
           porta_backend_compiled(PORTA_BACKEND_OPENCL),
           porta_backend_compiled(PORTA_BACKEND_VULKAN));
  expect(true, "compiled GPU backends: %s", detail);
}

static void test_devices(void) {
  porta_device_info infos[4];
  int count = 0;
  char err[256] = "";
  porta_status st = porta_list_devices(PORTA_BACKEND_CPU, infos, 4, &count, err, sizeof err);
  expect(st == PORTA_OK && count >= 1, "cpu devices: %s", count >= 1 ? infos[0].name : err);
  porta_backend_kind gpu[2] = {PORTA_BACKEND_OPENCL, PORTA_BACKEND_VULKAN};
  for (int i = 0; i < 2; i++) {
    err[0] = '\0';
    st = porta_list_devices(gpu[i], infos, 4, &count, err, sizeof err);
    char detail[512];
    snprintf(detail, sizeof detail, "%s: %s, %d device(s)%s%s", porta_backend_name(gpu[i]),
             porta_status_string(st), count, err[0] ? " - " : "", err);
    expect(st == PORTA_OK || (st == PORTA_ERR_NO_DEVICE && err[0]),
           "list devices %s (NO_DEVICE must come with a message)", detail);
  }
  st = porta_list_devices(PORTA_BACKEND_CPU, NULL, 0, &count, NULL, 0);
  expect(st == PORTA_OK && count >= 1, "count-only listing works%s", NULL);
}

static void test_env_and_state(void) {
  setenv("PORTA_BACKEND", "cpu", 1);
  setenv("PORTA_DEVICE", "abc", 1);
  porta_context *ctx = NULL;
  char err[256] = "";
  porta_status st = porta_context_create(&ctx, NULL, err, sizeof err);
  expect(st == PORTA_ERR_INVALID_ARGUMENT && strstr(err, "abc"), "PORTA_DEVICE=abc: %s", err);
  unsetenv("PORTA_DEVICE");
  setenv("PORTA_PROFILE", "1", 1);
  st = porta_context_create(&ctx, NULL, err, sizeof err);
  unsetenv("PORTA_PROFILE");
  unsetenv("PORTA_BACKEND");
  if (st != PORTA_OK) {
    expect(false, "context from PORTA_BACKEND=cpu: %s", err);
    return;
  }
  expect(porta_context_backend(ctx) == PORTA_BACKEND_CPU, "PORTA_BACKEND=cpu gives %s",
         porta_backend_name(porta_context_backend(ctx)));
  expect(porta_context_device(ctx) && porta_context_device(ctx)->name[0], "device name: %s",
         porta_context_device(ctx)->name);
  expect(porta_is_training(ctx), "training by default%s", NULL);
  porta_set_training(ctx, false);
  expect(!porta_is_training(ctx), "set_training(false)%s", NULL);
  porta_set_training(ctx, true);
  expect(porta_context_seed(ctx) == 42, "default seed 42%s", NULL);
  porta_set_rng_stream(ctx, 17);
  porta_tensor *x, *y;
  if (porta_tensor_zeros(ctx, &x, PORTA_F32, 1, S(8)) != PORTA_OK ||
      porta_dropout(&y, x, 0.5f) != PORTA_OK) {
    expect(false, "dropout: %s", porta_last_error(ctx));
    return;
  }
  expect(porta_rng_stream(ctx) == 18, "dropout advances the stream 17 -> 18%s", NULL);
  expect(strcmp(porta_last_error(ctx), "") == 0, "no error yet: \"%s\"", porta_last_error(ctx));

  /* Profiling is on (PORTA_PROFILE=1): a few ops show up in the report. */
  porta_tensor *w, *h;
  if (porta_tensor_zeros(ctx, &w, PORTA_F32, 2, S(4, 8)) != PORTA_OK ||
      porta_linear(&h, y, w, NULL) != PORTA_OK) {
    expect(false, "linear: %s", porta_last_error(ctx));
    return;
  }
  char report[4096];
  st = porta_profile_report(ctx, report, sizeof report);
  expect(st == PORTA_OK && strstr(report, "gemm") && strstr(report, "dropout"),
         "profile report lists gemm and dropout:\n%s", report);
  porta_profile_reset(ctx);
  st = porta_profile_report(ctx, report, sizeof report);
  expect(st == PORTA_OK && !strstr(report, "gemm"), "after reset the report is empty:\n%s", report);
  porta_release_temporaries(ctx);
  porta_tensor_free(x);
  porta_tensor_free(w);
  porta_context_destroy(ctx);

  porta_context_options opt;
  porta_context_options_init(&opt);
  opt.backend = PORTA_BACKEND_CPU;
  if (porta_context_create(&ctx, &opt, err, sizeof err) != PORTA_OK) return;
  st = porta_profile_report(ctx, report, sizeof report);
  expect(st == PORTA_ERR_STATE, "profile report with profiling off: %s", porta_last_error(ctx));
  porta_context_destroy(ctx);
}

static void test_size_classes(void) {
  struct {
    size_t bytes, cls;
  } cases[] = {{1, 256},
               {256, 256},
               {257, 512},
               {1 << 20, 1 << 20},
               {(1 << 20) + 1, 1310720},
               {3 << 20, 3 << 20},
               {(3 << 20) + 1, 3670016}};
  bool ok = true;
  char detail[512] = "";
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    size_t got = porta_size_class(cases[i].bytes);
    ok = ok && got == cases[i].cls;
    snprintf(detail + strlen(detail), sizeof detail - strlen(detail), "%zu->%zu ", cases[i].bytes,
             got);
  }
  expect(ok, "size classes: %s", detail);
}

int main(void) {
  test_names();
  test_devices();
  test_env_and_state();
  test_size_classes();
  printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
  return failures ? 1 : 0;
}
