/* porta convert: write model.safetensors beside a pytorch_model.bin. */
#include "cli.h"

static const char usage[] =
    "usage: porta convert DIR\n\n"
    "Reads DIR/pytorch_model.bin (or its sharded index) with a restricted unpickler that never "
    "runs\n"
    "code, and writes DIR/model.safetensors with the same tensors, names and dtypes.";

int cli_convert(int argc, char **argv) {
  cli_flag flags[] = {{NULL, 0, NULL, NULL}};
  char *positional[1];
  int n_positional;
  bool help;
  int rc = cli_parse(argc, argv, flags, usage, positional, 1, &n_positional, &help);
  if (rc != CLI_OK || help) return rc;
  if (n_positional != 1) {
    fprintf(stderr, "porta convert: give one model folder (see --help)\n");
    return CLI_USAGE;
  }
  char err[2048] = "";
  porta_status st = porta_checkpoint_convert(positional[0], err, sizeof err);
  if (st != PORTA_OK) {
    fprintf(stderr, "porta convert: %s (%s)\n", err, porta_status_string(st));
    return CLI_FAILED;
  }
  printf("wrote %s/model.safetensors\n", positional[0]);
  return CLI_OK;
}
