/* porta: fine-tune and run BERT / RoBERTa encoders on the CPU, OpenCL or Vulkan.
 * Each verb lives in its own cli_<verb>.c; add one by adding a row to the table. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_verb verbs[] = {
    {"train", "fine-tune a model on a labelled data set", cli_train},
    {"eval", "evaluate a checkpoint on a data file", cli_eval},
    {"predict", "classify texts with a checkpoint", cli_predict},
    {"tokenize", "print the token ids of stdin lines", cli_tokenize},
    {"embed", "sentence embeddings / hidden states of stdin lines", cli_embed},
    {"convert", "write model.safetensors beside a pytorch_model.bin", cli_convert},
    {"devices", "list the devices of every backend", cli_devices},
    {"bench", "measure ops, training steps and backends", cli_bench},
};

/* A verb whose file is not in this build (cli_bench until cli_bench.c exists) is a weak NULL. */
static bool verb_present(const cli_verb *v) { return v->run != NULL; }

static void print_version(void) {
  printf("porta %s (commit %s)\nbackends:", PORTA_VERSION, PORTA_GIT_COMMIT);
  porta_backend_kind kinds[3] = {PORTA_BACKEND_CPU, PORTA_BACKEND_OPENCL, PORTA_BACKEND_VULKAN};
  for (int i = 0; i < 3; i++)
    if (porta_backend_compiled(kinds[i])) printf(" %s", porta_backend_name(kinds[i]));
  char mpi[160];
  printf("\ndistributed: %s\n",
         porta_dist_mpi_version(mpi, sizeof mpi) ? mpi : "none (built without MPI)");
}

static void print_help(FILE *out) {
  fprintf(
      out,
      "usage: porta <command> [options]   (porta <command> --help for its options)\n\ncommands:\n");
  for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
    if (verb_present(&verbs[i])) fprintf(out, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
  fprintf(out, "\n  --version  print the version, the backends and the MPI built in\n");
}

/* The verbs print their results on stdout: a full disk or a closed pipe must not pass for
 * success, so the last flush is checked and a lost write fails the command. */
static int finish_output(int rc) {
  errno = 0;
  if (fflush(stdout) != 0 || ferror(stdout)) {
    if (errno)
      fprintf(stderr, "porta: cannot write the output: %s\n", strerror(errno));
    else // the failed write came earlier, in a printf whose errno is gone
      fprintf(stderr, "porta: cannot write the output (a write to stdout failed)\n");
    if (rc == CLI_OK) rc = CLI_FAILED;
  }
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    print_help(stderr);
    return CLI_USAGE;
  }
  const char *verb = argv[1];
  if (!strcmp(verb, "--version") || !strcmp(verb, "version")) {
    print_version();
    return finish_output(CLI_OK);
  }
  if (!strcmp(verb, "--help") || !strcmp(verb, "-h") || !strcmp(verb, "help")) {
    print_help(stdout);
    return finish_output(CLI_OK);
  }
  for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
    if (verb_present(&verbs[i]) && !strcmp(verb, verbs[i].name))
      return finish_output(verbs[i].run(argc - 1, argv + 1));
  fprintf(stderr, "porta: unknown command \"%s\"\n\n", verb);
  print_help(stderr);
  return CLI_USAGE;
}
