/* porta tokenize: stdin lines -> {"text": ..., "ids": [...]} with a model folder's tokenizer. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: porta tokenize --model DIR [--max-len N] < lines.txt\n\n"
    "Prints {\"text\": ..., \"ids\": [...]} for each line of stdin, with special tokens, as the\n"
    "Hugging Face tokenizer of the folder would encode it ([CLS] ... [SEP] / <s> ... </s>).";

int cli_tokenize(int argc, char **argv) {
  const char *model_dir = NULL;
  int max_len = 0;
  bool tokens = false;
  cli_flag flags[] = {
      {"model", CLI_STRING, &model_dir, "Hub model folder with tokenizer files"},
      {"max-len", CLI_INT, &max_len,
       "truncate to N ids (default: the tokenizer's model_max_length; -1: none)"},
      {"tokens", CLI_BOOL, &tokens, "also print the token strings"},
      {NULL, 0, NULL, NULL},
  };
  char *positional[1];
  int n_positional;
  bool help;
  int rc = cli_parse(argc, argv, flags, usage, positional, 0, &n_positional, &help);
  if (rc != CLI_OK || help) return rc;
  char buf[4096];
  if (!model_dir) model_dir = cli_default_model(buf, sizeof buf);
  if (!model_dir) {
    fprintf(stderr, "porta tokenize: --model is required (see --help)\n");
    return CLI_USAGE;
  }
  porta_tokenizer *tok;
  char err[2048] = "";
  porta_status st = porta_tokenizer_load(&tok, model_dir, err, sizeof err);
  if (st != PORTA_OK) {
    fprintf(stderr, "porta tokenize: %s (%s)\n", err, porta_status_string(st));
    return CLI_FAILED;
  }
  int capacity = 1024;
  int32_t *ids = malloc((size_t)capacity * sizeof(int32_t));
  char *line = NULL;
  size_t line_cap = 0;
  int64_t line_number = 0;
  rc = CLI_OK;
  cli_line_status got;
  while (ids && (got = cli_read_line(&line, &line_cap, stdin)) != CLI_LINE_EOF) {
    line_number++;
    if (got == CLI_LINE_NUL) {
      cli_report_nul_line("tokenize", line_number);
      rc = CLI_FAILED;
      continue;
    }
    int n = 0;
    st = porta_tokenizer_encode(tok, ids, capacity, &n, line, strlen(line), max_len, err,
                                sizeof err);
    if (st == PORTA_ERR_LIMIT && n > capacity) { // the row needs more room
      int32_t *grown = realloc(ids, (size_t)n * sizeof(int32_t));
      if (!grown) break;
      ids = grown;
      capacity = n;
      st = porta_tokenizer_encode(tok, ids, capacity, &n, line, strlen(line), max_len, err,
                                  sizeof err);
    }
    if (st != PORTA_OK) {
      fprintf(stderr, "porta tokenize: line %lld: %s\n", (long long)line_number, err);
      rc = CLI_FAILED;
      continue;
    }
    printf("{\"text\": ");
    cli_json_string(stdout, line);
    printf(", \"ids\": [");
    for (int i = 0; i < n; i++) printf("%s%d", i ? ", " : "", ids[i]);
    printf("]");
    if (tokens) {
      printf(", \"tokens\": [");
      for (int i = 0; i < n; i++) {
        const char *t = porta_tokenizer_id_to_token(tok, ids[i]);
        printf("%s", i ? ", " : "");
        cli_json_string(stdout, t ? t : "");
      }
      printf("]");
    }
    printf("}\n");
  }
  free(line);
  free(ids);
  porta_tokenizer_free(tok);
  return rc;
}
