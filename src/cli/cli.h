/* The porta program: shared pieces of the verbs (flag parsing, default paths, JSON output). */
#ifndef PORTA_CLI_H
#define PORTA_CLI_H

#include <stdio.h>

#include "porta/porta.h"

/* Exit codes: 0 success, 1 the job failed, 2 bad command line. */
enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

typedef enum cli_flag_kind {
  CLI_BOOL,   /* --name (no value) */
  CLI_INT,    /* int */
  CLI_INT64,  /* int64_t */
  CLI_U64,    /* uint64_t */
  CLI_FLOAT,  /* float */
  CLI_DOUBLE, /* double */
  CLI_STRING, /* const char * (points into argv) */
} cli_flag_kind;

typedef struct cli_flag {
  const char *name; /* without the leading "--" */
  cli_flag_kind kind;
  void *value;
  const char *help;
} cli_flag;

typedef struct cli_verb {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv); /* argv[0] is the verb */
} cli_verb;

/* Parses argv[1..argc) against flags (terminated by a {NULL} entry). Positional arguments go to
 * positional[0..*n_positional) (capacity max_positional). "--help" prints usage and sets *help.
 * Returns CLI_OK or CLI_USAGE (after printing the error). */
int cli_parse(int argc, char **argv, const cli_flag *flags, const char *usage, char **positional,
              int max_positional, int *n_positional, bool *help);
void cli_print_usage(FILE *out, const char *usage, const cli_flag *flags);

/* Data-parallel flags (porta train): --dist auto|none|mpi, --dist-timeout SECONDS. */
typedef struct cli_dist_flags {
  const char *dist;
  double timeout_s;
} cli_dist_flags;
#define CLI_DIST_FLAGS(f)                                                                          \
  {"dist", CLI_STRING, &(f).dist, "auto (MPI when launched by mpirun / srun) | none | mpi"}, {     \
    "dist-timeout", CLI_DOUBLE, &(f).timeout_s,                                                    \
        "fail a collective that stalls this many seconds (300)"                                    \
  }
void cli_dist_flags_init(cli_dist_flags *f);
/* Creates the communicator; with several ranks on a GPU backend, *device becomes --device plus
 * the local rank, and *threads (0: unset) the host's cores over its ranks. */
int cli_dist_begin(const cli_dist_flags *f, porta_backend_kind backend, int *device, int *threads,
                   porta_comm **out);
/* Prints "porta: rank R of N: <message>" and, with several ranks, ends the whole job (MPI_Abort)
 * with exit code code, so that no rank waits for this one. Returns with one rank. */
void cli_dist_fail(porta_comm *comm, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Device flags every verb takes. */
typedef struct cli_device_flags {
  const char *backend; /* "cpu" | "opencl" | "vulkan" | "auto" */
  int device;
  int threads;
} cli_device_flags;
#define CLI_DEVICE_FLAGS(d)                                                                        \
  {"backend", CLI_STRING, &(d).backend,                                                            \
   "auto | cpu | opencl | vulkan (default: $PORTA_BACKEND, else auto: a GPU that passes its "      \
   "self-test, else cpu)"},                                                                        \
      {"device", CLI_INT, &(d).device,                                                             \
       "device index within the backend (default: $PORTA_DEVICE, else 0)"},                        \
  {                                                                                                \
    "threads", CLI_INT, &(d).threads, "CPU threads (default: all cores)"                           \
  }
void cli_device_flags_init(cli_device_flags *d);
/* Creates a context from the flags; prints the error and returns NULL on failure. */
porta_context *cli_context(const cli_device_flags *d, uint64_t seed);
int cli_parse_backend(const char *name, porta_backend_kind *out);

/* The default model folder (models/all-MiniLM-L6-v2 under the current directory or the source
 * tree) and data file ($PORTA_DATA, else data/sarcasm/Sarcasm_Headlines_Dataset.jsonl under the
 * current directory or the source tree). NULL when none is found. The returned string is the
 * caller's buffer. */
const char *cli_default_model(char *buf, size_t size);
const char *cli_default_data(char *buf, size_t size);

/* A run folder's settings.json and split.json; err names the file on failure. */
int cli_run_settings(const char *run, porta_run_settings *out, char *err, size_t err_size);
int cli_run_split(const char *run, porta_split *out, char *err, size_t err_size);

/* Writes s as a JSON string (with quotes and escapes). */
void cli_json_string(FILE *out, const char *s);
/* Reads one line of stdin without its line end into *line (grown as needed). Returns
 * CLI_LINE_EOF at the end, CLI_LINE_NUL for a line holding a NUL byte (C strings would cut it
 * there: callers report and skip it), else CLI_LINE_TEXT. */
typedef enum cli_line_status { CLI_LINE_EOF = 0, CLI_LINE_TEXT, CLI_LINE_NUL } cli_line_status;
cli_line_status cli_read_line(char **line, size_t *capacity, FILE *in);
/* The stderr message for a CLI_LINE_NUL line. */
void cli_report_nul_line(const char *verb, int64_t line_number);

int cli_train(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_predict(int argc, char **argv);
int cli_tokenize(int argc, char **argv);
int cli_embed(int argc, char **argv);
int cli_convert(int argc, char **argv);
int cli_devices(int argc, char **argv);
/* Defined by cli_bench.c when present; weak so that the program links without it. */
int cli_bench(int argc, char **argv) __attribute__((weak));

#endif
