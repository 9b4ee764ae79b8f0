/* porta train: fine-tune a body + head on a labelled data set. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: porta train [--model DIR] [--data FILE] [options]\n"
    "       porta train --resume RUN_DIR\n\n"
    "Fine-tunes a BERT / RoBERTa Hub folder with a classification head on a JSON-lines or CSV "
    "file\n"
    "(split 80/10/10 by default, stratified, repeated texts kept in one part), evaluates on valid "
    "after\n"
    "each epoch (accuracy, precision, recall, F1: binary = positive class 1, more classes = macro\n"
    "averages), keeps the best checkpoint by valid F1 and reports test metrics from it. The run "
    "folder\n"
    "holds settings.json, labels.json, split.json, metrics.jsonl, best/ and last/.";

/* Set by SIGINT / SIGTERM: the loop saves last/ after the current step and returns. A second
 * signal kills the process the default way (the previous checkpoint stays intact). */
static volatile int cancel_requested = 0;
static volatile sig_atomic_t cancel_signal = 0;

static void on_signal(int sig) {
  cancel_requested = 1;
  cancel_signal = sig;
  signal(sig, SIG_DFL);
}

int cli_train(int argc, char **argv) {
  porta_train_options o;
  porta_train_options_init(&o);
  cli_device_flags dev;
  cli_device_flags_init(&dev);
  cli_dist_flags dist; /* mpirun -np N porta train ...: data-parallel (cli_dist.c) */
  cli_dist_flags_init(&dist);
  const char *head = "cls", *warmup = NULL;
  bool no_progress = false, progress = false;
  cli_flag flags[] = {
      {"model", CLI_STRING, &o.model_dir, "Hub model folder (default: models/all-MiniLM-L6-v2)"},
      {"data", CLI_STRING, &o.data_path, "JSON lines or CSV file (default: the sarcasm headlines)"},
      {"text-field", CLI_STRING, &o.text_field, "JSON key / CSV column of the text (headline)"},
      {"label-field", CLI_STRING, &o.label_field,
       "JSON key / CSV column of the label (is_sarcastic)"},
      {"out", CLI_STRING, &o.out_dir, "run folder (default: runs/<YYYYmmdd-HHMMSS>)"},
      {"resume", CLI_STRING, &o.resume_dir,
       "continue the run in RUN_DIR from its last/ checkpoint"},
      {"head", CLI_STRING, &head, "cls | mean | pooler (default cls: dropout + linear on token 0)"},
      {"freeze-body", CLI_BOOL, &o.freeze_body, "train only the head"},
      {"dropout", CLI_FLOAT, &o.dropout, "head dropout (default: the config's, 0.1)"},
      {"max-len", CLI_INT, &o.max_length,
       "truncate rows to N tokens (default: the model's maximum)"},
      {"epochs", CLI_INT, &o.epochs, "epochs (3)"},
      {"batch-size", CLI_INT, &o.batch_size, "rows per batch (32)"},
      {"lr", CLI_FLOAT, &o.lr, "AdamW learning rate (5e-5)"},
      {"weight-decay", CLI_FLOAT, &o.weight_decay,
       "AdamW weight decay, not on biases / LayerNorm (0.01)"},
      {"warmup", CLI_STRING, &warmup, "linear warm-up: N steps, or a fraction like 0.1 or 10% (0)"},
      {"max-grad-norm", CLI_FLOAT, &o.max_grad_norm, "clip the gradient norm (1.0; 0: off)"},
      {"grad-accum", CLI_INT, &o.grad_accum, "batches accumulated per optimizer step (1)"},
      {"max-batch-tokens", CLI_INT, &o.max_batch_tokens,
       "padded tokens per pass; a longer batch runs in passes with the same gradient (2048; 0: "
       "never split)"},
      {"max-steps", CLI_INT64, &o.max_steps,
       "stop after N optimizer steps (the schedule ends there)"},
      {"limit-rows", CLI_INT64, &o.limit_rows, "use only the first N readable rows"},
      {"valid-fraction", CLI_DOUBLE, &o.valid_fraction, "share of rows for valid (0.1)"},
      {"test-fraction", CLI_DOUBLE, &o.test_fraction, "share of rows for test (0.1)"},
      {"seed", CLI_U64, &o.seed, "seed of the split, data order, head init and dropout (42)"},
      {"allow-changed-data", CLI_BOOL, &o.allow_changed_data,
       "with --resume: go on although the data file's rows differ from the run's start"},
      {"save-every", CLI_INT64, &o.save_every,
       "also write last/ every N steps (default: each epoch)"},
      {"stop-after", CLI_INT64, &o.stop_after,
       "stop after N steps as if killed (to test --resume)"},
      {"log-every", CLI_INT, &o.log_every,
       "log line every N steps when stderr is not a terminal (50)"},
      {"progress", CLI_BOOL, &progress, "always draw the progress bar"},
      {"no-progress", CLI_BOOL, &no_progress, "never draw the progress bar (log lines instead)"},
      {"quiet", CLI_BOOL, &o.quiet, "print nothing but errors"},
      {"profile", CLI_BOOL, &o.profile, "at the end, each op's share of the device time"},
      CLI_DEVICE_FLAGS(dev),
      CLI_DIST_FLAGS(dist),
      {NULL, 0, NULL, NULL},
  };
  char *positional[1];
  int n_positional;
  bool help;
  int rc = cli_parse(argc, argv, flags, usage, positional, 0, &n_positional, &help);
  if (rc != CLI_OK || help) return rc;
  if (cli_parse_backend(dev.backend, &o.backend) != CLI_OK) return CLI_USAGE;
  o.device = dev.device;
  o.num_threads = dev.threads;
  o.selftest = PORTA_SELFTEST_RUN;
  o.progress = progress ? 1 : no_progress ? 0 : -1;
  if (porta_head_kind_parse(head, &o.head) != PORTA_OK) {
    fprintf(stderr, "porta train: unknown head \"%s\" (cls, mean, pooler)\n", head);
    return CLI_USAGE;
  }
  if (warmup) {
    char *end;
    o.warmup = strtod(warmup, &end);
    if (*end == '%') o.warmup /= 100.0, end++;
    if (*end || end == warmup || o.warmup < 0 ||
        (o.warmup >= 1 && o.warmup != (double)(int64_t)o.warmup)) {
      fprintf(stderr, "porta train: bad --warmup \"%s\" (steps, or a fraction like 0.1 or 10%%)\n",
              warmup);
      return CLI_USAGE;
    }
  }
  char model_buf[4096], data_buf[4096];
  if (!o.resume_dir) {
    if (!o.model_dir) o.model_dir = cli_default_model(model_buf, sizeof model_buf);
    if (!o.model_dir) {
      fprintf(stderr, "porta train: no --model given and models/all-MiniLM-L6-v2 is not in the "
                      "current directory or "
                      "the source tree (run the set-up script, or pass --model DIR)\n");
      return CLI_USAGE;
    }
    if (!o.data_path) o.data_path = cli_default_data(data_buf, sizeof data_buf);
    if (!o.data_path) {
      fprintf(
          stderr,
          "porta train: no --data given and the sarcasm data set was not found ($PORTA_DATA, "
          "data/sarcasm/Sarcasm_Headlines_Dataset.jsonl; tools/download_sarcasm.sh fetches it)\n");
      return CLI_USAGE;
    }
  }
  rc = cli_dist_begin(&dist, o.backend, &o.device, &o.num_threads, &o.comm);
  if (rc != CLI_OK) return rc;
  o.cancel = &cancel_requested;
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  porta_train_result result;
  char err[2048] = "";
  porta_status st = porta_train(&result, &o, err, sizeof err);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  if (st != PORTA_OK) {
    cli_dist_fail(o.comm, CLI_FAILED, "train: %s (%s)", err, porta_status_string(st));
    porta_comm_destroy(o.comm);
    return CLI_FAILED;
  }
  porta_comm_destroy(o.comm);
  if (result.interrupted && !o.quiet)
    fprintf(stderr, "stopped after step %lld; continue with: porta train --resume %s\n",
            (long long)result.steps, result.run_dir);
  // 128 + the signal (130 SIGINT, 143 SIGTERM), as shells report a job a signal ended
  return cancel_requested ? 128 + (int)cancel_signal : CLI_OK;
}
