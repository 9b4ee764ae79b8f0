/* Flag parsing, device flags, default paths and JSON output shared by the verbs. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const cli_flag *find_flag(const cli_flag *flags, const char *name, size_t len) {
  for (const cli_flag *f = flags; f->name; f++)
    if (strlen(f->name) == len && !strncmp(f->name, name, len)) return f;
  return NULL;
}

static bool set_value(const cli_flag *f, const char *text) {
  char *end = NULL;
  errno = 0;
  switch (f->kind) {
  case CLI_BOOL:
    *(bool *)f->value = true;
    return true;
  case CLI_STRING:
    *(const char **)f->value = text;
    return true;
  case CLI_INT: {
    long v = strtol(text, &end, 10);
    if (errno || *end || end == text || v < INT_MIN || v > INT_MAX) return false;
    *(int *)f->value = (int)v;
    return true;
  }
  case CLI_INT64: {
    long long v = strtoll(text, &end, 10);
    if (errno || *end || end == text) return false;
    *(int64_t *)f->value = v;
    return true;
  }
  case CLI_U64: {
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || *end || end == text || text[0] == '-') return false;
    *(uint64_t *)f->value = v;
    return true;
  }
  case CLI_FLOAT:
  case CLI_DOUBLE: {
    double v = strtod(text, &end);
    if (errno || *end || end == text) return false;
    if (f->kind == CLI_FLOAT)
      *(float *)f->value = (float)v;
    else
      *(double *)f->value = v;
    return true;
  }
  }
  return false;
}

void cli_print_usage(FILE *out, const char *usage, const cli_flag *flags) {
  fprintf(out, "%s\n\noptions:\n", usage);
  for (const cli_flag *f = flags; f->name; f++) {
    const char *arg = f->kind == CLI_BOOL ? "" : f->kind == CLI_STRING ? " TEXT" : " N";
    char left[64];
    snprintf(left, sizeof left, "--%s%s", f->name, arg);
    fprintf(out, "  %-24s %s\n", left, f->help);
  }
  fprintf(out, "  %-24s %s\n", "--help", "show this help");
}

int cli_parse(int argc, char **argv, const cli_flag *flags, const char *usage, char **positional,
              int max_positional, int *n_positional, bool *help) {
  *n_positional = 0;
  *help = false;
  bool only_positional = false;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (only_positional || arg[0] != '-' || arg[1] == '\0') {
      if (*n_positional >= max_positional) {
        fprintf(stderr, "porta %s: unexpected argument \"%s\" (see --help)\n", argv[0], arg);
        return CLI_USAGE;
      }
      positional[(*n_positional)++] = argv[i];
      continue;
    }
    if (!strcmp(arg, "--")) {
      only_positional = true;
      continue;
    }
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      cli_print_usage(stdout, usage, flags);
      *help = true;
      return CLI_OK;
    }
    if (strncmp(arg, "--", 2) != 0) {
      fprintf(stderr, "porta %s: unknown option \"%s\" (see --help)\n", argv[0], arg);
      return CLI_USAGE;
    }
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    const cli_flag *f = find_flag(flags, name, len);
    if (!f) {
      fprintf(stderr, "porta %s: unknown option \"%s\" (see --help)\n", argv[0], arg);
      return CLI_USAGE;
    }
    const char *value = NULL;
    if (f->kind != CLI_BOOL) {
      if (eq)
        value = eq + 1;
      else if (i + 1 < argc)
        value = argv[++i];
      else {
        fprintf(stderr, "porta %s: --%s needs a value\n", argv[0], f->name);
        return CLI_USAGE;
      }
    } else if (eq) {
      fprintf(stderr, "porta %s: --%s takes no value\n", argv[0], f->name);
      return CLI_USAGE;
    }
    if (!set_value(f, value)) {
      fprintf(stderr, "porta %s: bad value \"%s\" for --%s\n", argv[0], value, f->name);
      return CLI_USAGE;
    }
  }
  return CLI_OK;
}

void cli_device_flags_init(cli_device_flags *d) {
  d->backend = NULL;
  d->device = -1;
  d->threads = 0;
}

int cli_parse_backend(const char *name, porta_backend_kind *out) {
  *out = PORTA_BACKEND_AUTO;
  if (!name) return CLI_OK;
  if (porta_backend_parse(name, out) != PORTA_OK) {
    fprintf(stderr, "porta: unknown backend \"%s\" (auto, cpu, opencl, vulkan)\n", name);
    return CLI_USAGE;
  }
  return CLI_OK;
}

porta_context *cli_context(const cli_device_flags *d, uint64_t seed) {
  porta_context_options o;
  porta_context_options_init(&o);
  if (cli_parse_backend(d->backend, &o.backend) != CLI_OK) return NULL;
  o.device = d->device;
  o.num_threads = d->threads;
  o.seed = seed;
  o.selftest = PORTA_SELFTEST_RUN; /* never a path that failed on this device */
  porta_context *ctx = NULL;
  char err[1024] = "";
  if (porta_context_create(&ctx, &o, err, sizeof err) != PORTA_OK) {
    fprintf(stderr, "porta: cannot open the %s backend: %s\n", porta_backend_name(o.backend), err);
    return NULL;
  }
  if (porta_context_selftest_note(ctx)[0])
    fprintf(stderr, "porta: %s\n", porta_context_selftest_note(ctx));
  return ctx;
}

static bool is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The folders that may hold the source tree: the current directory, then the program's folder
 * and its parents (a build folder sits inside the source tree). */
static int candidate_roots(char roots[][PATH_MAX], int max) {
  int n = 0;
  if (getcwd(roots[n], PATH_MAX)) n++;
  char exe[PATH_MAX];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len > 0) {
    exe[len] = '\0';
    for (int up = 0; up < 3 && n < max; up++) {
      char *slash = strrchr(exe, '/');
      if (!slash || slash == exe) break;
      *slash = '\0';
      snprintf(roots[n++], PATH_MAX, "%.*s", PATH_MAX - 1, exe);
    }
  }
  return n;
}

const char *cli_default_model(char *buf, size_t size) {
  char roots[4][PATH_MAX];
  int n = candidate_roots(roots, 4);
  for (int i = 0; i < n; i++) {
    snprintf(buf, size, "%.*s/models/all-MiniLM-L6-v2", PATH_MAX, roots[i]);
    if (is_dir(buf)) return buf;
  }
  return NULL;
}

/* $PORTA_DATA, else data/sarcasm/ (where tools/download_sarcasm.sh writes) in the current
 * directory or the source tree. Nothing of any one machine's folders is built in. */
const char *cli_default_data(char *buf, size_t size) {
  const char *env = getenv("PORTA_DATA");
  if (env && env[0]) {
    snprintf(buf, size, "%s", env);
    return buf;
  }
  char roots[4][PATH_MAX];
  int n = candidate_roots(roots, 4);
  for (int i = 0; i < n; i++) {
    snprintf(buf, size, "%.*s/data/sarcasm/Sarcasm_Headlines_Dataset.jsonl", PATH_MAX, roots[i]);
    if (is_file(buf)) return buf;
  }
  return NULL;
}

void cli_json_string(FILE *out, const char *s) {
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"':
      fputs("\\\"", out);
      break;
    case '\\':
      fputs("\\\\", out);
      break;
    case '\n':
      fputs("\\n", out);
      break;
    case '\r':
      fputs("\\r", out);
      break;
    case '\t':
      fputs("\\t", out);
      break;
    default:
      if (*p < 0x20)
        fprintf(out, "\\u%04x", *p);
      else
        fputc(*p, out);
    }
  }
  fputc('"', out);
}

cli_line_status cli_read_line(char **line, size_t *capacity, FILE *in) {
  ssize_t n = getline(line, capacity, in);
  if (n < 0) return CLI_LINE_EOF;
  while (n > 0 && ((*line)[n - 1] == '\n' || (*line)[n - 1] == '\r')) (*line)[--n] = '\0';
  return memchr(*line, '\0', (size_t)n) ? CLI_LINE_NUL : CLI_LINE_TEXT;
}

void cli_report_nul_line(const char *verb, int64_t line_number) {
  fprintf(stderr, "porta %s: line %lld: NUL byte in the text (a binary file?); line skipped\n",
          verb, (long long)line_number);
}

int cli_run_settings(const char *run, porta_run_settings *out, char *err, size_t err_size) {
  char path[4096];
  snprintf(path, sizeof path, "%s/settings.json", run);
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, err_size, "cannot open %s: %s (is %s a porta train run folder?)", path,
             strerror(errno), run);
    return CLI_FAILED;
  }
  fclose(f);
  return porta_run_settings_load(out, run, err, err_size) == PORTA_OK ? CLI_OK : CLI_FAILED;
}

int cli_run_split(const char *run, porta_split *out, char *err, size_t err_size) {
  char path[4096];
  snprintf(path, sizeof path, "%s/split.json", run);
  return porta_split_load(out, path, err, err_size) == PORTA_OK ? CLI_OK : CLI_FAILED;
}
