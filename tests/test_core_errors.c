/* Error handling of the core: NULL arguments, shape and dtype mismatches (messages naming both
 * shapes), unknown backend names, the device memory limit (options and PORTA_MAX_DEVICE_BYTES)
 * with the context usable afterwards, requires_grad on i32, unsupported ops (a backend whose
 * supports() says no) and driver errors copied into the context's message. Messages that echo
 * user bytes stay valid UTF-8: invalid bytes and control characters come out as \xNN, in the
 * context's message and in the err buffers of the model and training layers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/errors.h"
#include "helpers/check.h"
#include "porta/porta.h"

static porta_context *ctx;
static check_counter checks;

#define S(...) ((const int64_t[]){__VA_ARGS__})
#define F(...) ((const float[]){__VA_ARGS__})

/* The call returned `want` and the message contains each of the (up to two) fragments. */
static void expect_error(const char *what, porta_status got, porta_status want, const char *msg,
                         const char *frag1, const char *frag2) {
  bool ok = got == want && (!frag1 || strstr(msg, frag1)) && (!frag2 || strstr(msg, frag2));
  printf("%s %-40s %s: \"%s\"\n", ok ? "ok  " : "FAIL", what, porta_status_string(got), msg);
  if (!ok)
    printf("     wanted %s with \"%s\" and \"%s\"\n", porta_status_string(want), frag1 ? frag1 : "",
           frag2 ? frag2 : "");
  check_count(&checks, ok);
}

static void expect(bool ok, const char *what) {
  printf("%s %s\n", ok ? "ok  " : "FAIL", what);
  check_count(&checks, ok);
}

static porta_context *make_context(size_t max_bytes) {
  porta_context_options opt;
  porta_context_options_init(&opt);
  opt.backend = PORTA_BACKEND_CPU;
  opt.max_device_bytes = max_bytes;
  char err[512];
  porta_context *c;
  if (porta_context_create(&c, &opt, err, sizeof err) != PORTA_OK) {
    fprintf(stderr, "FAIL context: %s\n", err);
    exit(1);
  }
  return c;
}

static void test_arguments(void) {
  porta_tensor *a, *b, *c, *ids, *out = (porta_tensor *)1;
  CHECK_OK(ctx, porta_tensor_from_host(ctx, &a, PORTA_F32, 2, S(2, 3), F(1, 2, 3, 4, 5, 6)));
  CHECK_OK(ctx, porta_tensor_zeros(ctx, &b, PORTA_F32, 2, S(4, 3)));
  CHECK_OK(ctx, porta_tensor_zeros(ctx, &ids, PORTA_I32, 1, S(3)));
  porta_memory_stats before, after;
  porta_memory_stats_get(ctx, &before);

  porta_status st = porta_add(&out, a, NULL);
  expect_error("add(a, NULL)", st, PORTA_ERR_INVALID_ARGUMENT, porta_last_error(ctx), "b", "NULL");
  expect(out == NULL, "a failed op sets *out = NULL");
  st = porta_add(NULL, a, a);
  expect_error("add(out = NULL)", st, PORTA_ERR_INVALID_ARGUMENT, porta_last_error(ctx), "out",
               NULL);
  st = porta_add(&out, a, b);
  expect_error("add [2,3] + [4,3]", st, PORTA_ERR_SHAPE, porta_last_error(ctx), "[2, 3]", "[4, 3]");
  st = porta_matmul(&out, a, b, false, false);
  expect_error("matmul [2,3]·[4,3]", st, PORTA_ERR_SHAPE, porta_last_error(ctx), "[2, 3]",
               "[4, 3]");
  st = porta_linear(&out, a, b, NULL);
  CHECK_OK(ctx, st); /* [2,3]·[4,3]ᵀ is fine */
  st = porta_linear(&out, b, a, ids);
  expect_error("linear with an i32 bias", st, PORTA_ERR_DTYPE, porta_last_error(ctx), "bias",
               "i32");
  st = porta_mul(&out, a, ids);
  expect_error("mul f32 * i32", st, PORTA_ERR_DTYPE, porta_last_error(ctx), "i32", "f32");
  st = porta_embedding(&out, a, a);
  expect_error("embedding with f32 ids", st, PORTA_ERR_DTYPE, porta_last_error(ctx), "ids", NULL);
  st = porta_reshape(&out, a, 2, S(4, -1));
  expect_error("reshape [2,3] to [4,-1]", st, PORTA_ERR_SHAPE, porta_last_error(ctx), "[2, 3]",
               "[4, -1]");
  st = porta_select(&out, a, 1, 3);
  expect_error("select index 3 of dim 1", st, PORTA_ERR_INVALID_ARGUMENT, porta_last_error(ctx),
               "index 3", "[2, 3]");
  st = porta_slice(&out, a, 5, 0, 1);
  expect_error("slice dim 5", st, PORTA_ERR_INVALID_ARGUMENT, porta_last_error(ctx), "dim 5", NULL);
  st = porta_softmax(&out, a, b);
  expect_error("softmax mask [4,3] on [2,3]", st, PORTA_ERR_SHAPE, porta_last_error(ctx), "[4, 3]",
               "[2, 3]");
  st = porta_cross_entropy(&out, a, a);
  expect_error("cross_entropy f32 labels", st, PORTA_ERR_DTYPE, porta_last_error(ctx), "labels",
               NULL);
  st = porta_dropout(&out, a, 1.5f);
  expect_error("dropout p = 1.5", st, PORTA_ERR_INVALID_ARGUMENT, porta_last_error(ctx), "1.5",
               NULL);
  st = porta_tensor_set_requires_grad(ids, true);
  expect_error("requires_grad on i32", st, PORTA_ERR_DTYPE, porta_last_error(ctx), "i32", NULL);
  st = porta_tensor_upload(a, F(1, 2), 2);
  expect_error("upload 2 values into [2,3]", st, PORTA_ERR_SHAPE, porta_last_error(ctx), "[2, 3]",
               NULL);
  porta_tensor *bad = (porta_tensor *)1;
  st = porta_tensor_new(ctx, &bad, PORTA_F32, 5, S(1, 1, 1, 1, 1));
  expect_error("5-D tensor", st, PORTA_ERR_SHAPE, porta_last_error(ctx), "ndim 5", NULL);
  expect(bad == NULL, "failed tensor_new sets *out = NULL");
  st = porta_tensor_new(ctx, &bad, PORTA_F32, 2, S(2, 0));
  expect_error("zero-sized dim", st, PORTA_ERR_SHAPE, porta_last_error(ctx), "[2, 0]", NULL);
  st = porta_backward(a);
  expect_error("backward of a non-scalar", st, PORTA_ERR_SHAPE, porta_last_error(ctx), "[2, 3]",
               NULL);
  porta_release_temporaries(ctx);
  porta_memory_stats_get(ctx, &after);
  printf("     live bytes before the failures %zu, after %zu\n", before.live_bytes,
         after.live_bytes);
  expect(after.live_bytes == before.live_bytes, "failed calls leave no live device memory");
  CHECK_OK(ctx, porta_add(&c, a, a)); /* still usable */
  porta_release_temporaries(ctx);
  porta_tensor_free(a);
  porta_tensor_free(b);
  porta_tensor_free(ids);
}

static void test_backend_names(void) {
  porta_backend_kind k = PORTA_BACKEND_CPU;
  porta_status st = porta_backend_parse("cuda", &k);
  expect(st == PORTA_ERR_INVALID_ARGUMENT, "backend_parse(\"cuda\") is INVALID_ARGUMENT");
  expect(porta_backend_parse("Vulkan", &k) == PORTA_OK && k == PORTA_BACKEND_VULKAN,
         "backend_parse(\"Vulkan\") = vulkan");
  setenv("PORTA_BACKEND", "cuda", 1);
  porta_context *c = (porta_context *)1;
  char err[256] = "";
  st = porta_context_create(&c, NULL, err, sizeof err);
  expect_error("PORTA_BACKEND=cuda", st, PORTA_ERR_INVALID_ARGUMENT, err, "cuda", NULL);
  expect(c == NULL, "failed context_create sets *out = NULL");
  unsetenv("PORTA_BACKEND");
  porta_context_options opt;
  porta_context_options_init(&opt);
  opt.backend = (porta_backend_kind)42;
  st = porta_context_create(&c, &opt, err, sizeof err);
  expect_error("options.backend = 42", st, PORTA_ERR_INVALID_ARGUMENT, err, "42", NULL);
}

static void test_memory_limit(porta_context *c, const char *how) {
  porta_context *saved = ctx;
  ctx = c;
  porta_tensor *small, *big = (porta_tensor *)1;
  CHECK_OK(ctx, porta_tensor_zeros(c, &small, PORTA_F32, 1, S(1024)));    /* 4 KiB of the 64 KiB */
  porta_status st = porta_tensor_new(c, &big, PORTA_F32, 2, S(512, 512)); /* 1 MiB */
  char what[96];
  snprintf(what, sizeof what, "1 MiB tensor over a 64 KiB limit (%s)", how);
  expect_error(what, st, PORTA_ERR_DEVICE_MEMORY, porta_last_error(c), "1048576", "65536");
  expect(big == NULL, "over the limit: *out = NULL");
  /* An op whose output does not fit fails the same way, and the context stays usable. */
  porta_tensor *x, *y, *out;
  CHECK_OK(ctx, porta_tensor_zeros(c, &x, PORTA_F32, 2, S(64, 1)));
  CHECK_OK(ctx, porta_tensor_zeros(c, &y, PORTA_F32, 2, S(1, 256)));
  st = porta_mul(&out, x, y); /* [64, 256] = 64 KiB: too much with the 4 KiB already live */
  expect_error("op output over the limit", st, PORTA_ERR_DEVICE_MEMORY, porta_last_error(c),
               "porta_mul", "limit");
  float v[4] = {0};
  CHECK_OK(ctx, porta_tensor_fill(small, 2.0f));
  CHECK_OK(ctx, porta_scale(&out, small, 3.0f));
  porta_tensor *four;
  CHECK_OK(ctx, porta_slice(&four, out, 0, 0, 4));
  CHECK_OK(ctx, porta_tensor_download(four, v, 4));
  expect(v[0] == 6.0f && v[3] == 6.0f, "context usable after DEVICE_MEMORY (2·3 = 6)");
  porta_release_temporaries(c);
  porta_tensor_free(small);
  porta_tensor_free(x);
  porta_tensor_free(y);
  ctx = saved;
}

/* ---- a CPU backend with a doctored vtable -------------------------------------------------- */

static porta_backend_ops doctored;
static const porta_backend_ops *original;

static bool no_gemm(porta_backend *be, porta_op op, const void *args) {
  if (op == PORTA_OP_GEMM) return false;
  return original->supports ? original->supports(be, op, args) : true;
}

static porta_status failing_alloc(porta_backend *be, size_t bytes, void **out) {
  if (bytes > (1u << 20))
    return porta_backend_fail(be, PORTA_ERR_DEVICE_MEMORY, "fake driver: out of memory (%zu)",
                              bytes);
  return original->alloc(be, bytes, out);
}

static porta_status failing_softmax(porta_backend *be, const porta_softmax_args *a) {
  return porta_backend_fail(be, PORTA_ERR_BACKEND, "fake driver: kernel launch failed (-5)");
}

static void test_doctored_backend(void) {
  porta_context *c = make_context(0);
  porta_context *saved = ctx;
  ctx = c;
  original = c->be->ops;
  doctored = *original;
  doctored.supports = no_gemm;
  doctored.alloc = failing_alloc;
  doctored.softmax = failing_softmax;
  c->be->ops = &doctored;
  porta_tensor *a, *out;
  CHECK_OK(ctx, porta_tensor_zeros(c, &a, PORTA_F32, 2, S(2, 2)));
  porta_status st = porta_matmul(&out, a, a, false, false);
  expect_error("gemm unsupported", st, PORTA_ERR_UNSUPPORTED, porta_last_error(c), "gemm", "cpu");
  st = porta_softmax(&out, a, NULL);
  expect_error("backend error copied", st, PORTA_ERR_BACKEND, porta_last_error(c), "porta_softmax",
               "kernel launch failed (-5)");
  porta_tensor *big;
  st = porta_tensor_new(c, &big, PORTA_F32, 1, S(1 << 20));
  expect_error("driver out of memory", st, PORTA_ERR_DEVICE_MEMORY, porta_last_error(c),
               "fake driver", "4194304");
  CHECK_OK(ctx, porta_add(&out, a, a));
  porta_release_temporaries(c);
  porta_tensor_free(a);
  c->be->ops = original;
  porta_context_destroy(c);
  ctx = saved;
}

/* Whether s is valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static bool valid_utf8(const char *s) {
  const unsigned char *u = (const unsigned char *)s;
  while (*u) {
    unsigned c = *u;
    int len = c < 0x80                 ? 1
              : c >= 0xC2 && c <= 0xDF ? 2
              : c >= 0xE0 && c <= 0xEF ? 3
              : c >= 0xF0 && c <= 0xF4 ? 4
                                       : 0;
    if (len == 0) return false;
    for (int i = 1; i < len; i++)
      if ((u[i] & 0xC0) != 0x80) return false;
    if ((c == 0xE0 && u[1] < 0xA0) || (c == 0xED && u[1] > 0x9F) || (c == 0xF0 && u[1] < 0x90) ||
        (c == 0xF4 && u[1] > 0x8F))
      return false;
    u += len;
  }
  return true;
}

static void format_into(char *dst, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  porta_error_vformat(dst, size, fmt, ap);
  va_end(ap);
}

static void test_utf8_messages(void) {
  /* each invalid form, a terminal escape, and valid text that must pass unchanged */
  static const struct {
    const char *what, *in, *want;
  } cases[] = {
      {"stray bytes", "a\xff\xfe b", "a\\xFF\\xFE b"},
      {"overlong /", "\xc0\xaf", "\\xC0\\xAF"},
      {"surrogate", "\xed\xa0\x80", "\\xED\\xA0\\x80"},
      {"past U+10FFFF", "\xf4\x90\x80\x80", "\\xF4\\x90\\x80\\x80"},
      {"sequence cut short", "\xe2\x82 x", "\\xE2\\x82 x"},
      {"terminal escape", "\x1b[31mred", "\\x1B[31mred"},
      {"valid text", "caf\xc3\xa9 \xe2\x89\xa5 \xf0\x9f\x98\x80\tline\n",
       "caf\xc3\xa9 \xe2\x89\xa5 \xf0\x9f\x98\x80\tline\n"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    porta_status st = porta_fail(ctx, PORTA_ERR_FORMAT, "token \"%s\"", cases[k].in);
    char want[128];
    snprintf(want, sizeof want, "token \"%s\"", cases[k].want);
    const char *msg = porta_last_error(ctx);
    bool ok = st == PORTA_ERR_FORMAT && strcmp(msg, want) == 0 && valid_utf8(msg);
    printf("%s porta_fail, %-20s -> %s\n", ok ? "ok  " : "FAIL", cases[k].what, msg);
    check_count(&checks, ok);
  }
  /* a small buffer: an escape that does not fit is left out whole; a character cut by vsnprintf
   * at the end of the buffer is dropped, not escaped */
  char small[8];
  format_into(small, sizeof small, "ab\xff\xfe%s", "x");
  expect(strcmp(small, "ab\\xFF") == 0, "escape cut at the end of a small buffer: whole");
  format_into(small, sizeof small, "abcde%s", "\xe2\x82\xac");
  expect(strcmp(small, "abcde") == 0 && valid_utf8(small),
         "a euro sign cut by the buffer end: dropped");

  /* the layers' own err buffers, with a folder name that is not UTF-8 */
  const char *bad = PORTA_BINARY_DIR "/no-such-\xff\xc0-folder";
  char err[512];
  porta_model_config cfg;
  memset(&cfg, 0, sizeof cfg);
  porta_status st = porta_config_load(&cfg, bad, err, sizeof err);
  expect_error("config.json in a non-UTF-8 folder", st, PORTA_ERR_NOT_FOUND, err,
               "no-such-\\xFF\\xC0", NULL);
  expect(valid_utf8(err), "  ... the message is valid UTF-8");
  porta_model *model = NULL;
  st = porta_model_load(&model, ctx, bad);
  expect_error("porta_model_load of the same", st, PORTA_ERR_NOT_FOUND, porta_last_error(ctx),
               "no-such-\\xFF\\xC0", NULL);
  expect(valid_utf8(porta_last_error(ctx)), "  ... the message is valid UTF-8");
  porta_label_map labels;
  st = porta_label_map_load(&labels, bad, err, sizeof err);
  expect_error("labels.json of the same", st, PORTA_ERR_IO, err, "no-such-\\xFF\\xC0", NULL);
  expect(valid_utf8(err), "  ... the message is valid UTF-8");
}

int main(void) {
  ctx = make_context(0);
  test_arguments();
  test_backend_names();
  porta_context *limited = make_context(64 * 1024);
  test_memory_limit(limited, "options.max_device_bytes");
  porta_context_destroy(limited);
  setenv("PORTA_MAX_DEVICE_BYTES", "64K", 1);
  limited = make_context(0);
  unsetenv("PORTA_MAX_DEVICE_BYTES");
  test_memory_limit(limited, "PORTA_MAX_DEVICE_BYTES=64K");
  porta_context_destroy(limited);
  test_doctored_backend();
  test_utf8_messages();
  porta_context_destroy(ctx);
  return check_finish(&checks);
}
