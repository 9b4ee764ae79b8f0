/* porta — public API section: train (included by porta/porta.h).
 *
 * Data sets (JSON lines / CSV), a seeded stratified split that keeps repeated texts together,
 * length-bucketed batching, classification metrics, and the fine-tuning loop behind `porta train`
 * (AdamW, linear schedule, evaluation, checkpoints that survive a crash, exact resume).
 *
 *   porta_train_options o;  porta_train_options_init(&o);
 *   o.model_dir = "models/all-MiniLM-L6-v2";  o.data_path = "headlines.jsonl";  o.epochs = 1;
 *   porta_train_result r;  char err[1024];
 *   if (porta_train(&r, &o, err, sizeof err) != PORTA_OK) fprintf(stderr, "%s\n", err);
 *   else printf("test F1 %.3f, run folder %s\n", r.test.f1, r.run_dir);
 *
 * Functions that run before a context exists report errors through (err, err_size), as
 * porta_context_create does. */
#ifndef PORTA_TRAIN_H
#define PORTA_TRAIN_H

#include "porta/porta.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct porta_comm porta_comm; /* porta/dist.h */

/* ---------------------------------------------------------------------------------------------
 * Seeded RNG (xoshiro256** seeded by splitmix64): the same numbers on every machine, so splits
 * and data orders do not depend on the C library's rand().
 * ------------------------------------------------------------------------------------------- */
typedef struct porta_rng {
  uint64_t s[4];
} porta_rng;

PORTA_API void porta_rng_seed(porta_rng *rng, uint64_t seed);
PORTA_API uint64_t porta_rng_next(porta_rng *rng);
/* Uniform integer in [0, n) (n > 0), without modulo bias. */
PORTA_API uint64_t porta_rng_below(porta_rng *rng, uint64_t n);
/* Fisher-Yates shuffle of items[0..count). */
PORTA_API void porta_rng_shuffle_i64(porta_rng *rng, int64_t *items, int64_t count);

/* ---------------------------------------------------------------------------------------------
 * Label maps: label id -> name. Integer labels keep their value as id ("0", "1"); string labels
 * get ids in byte order of their names. Saved with every run and checkpoint as labels.json.
 * ------------------------------------------------------------------------------------------- */
typedef struct porta_label_map {
  int count;
  char **names;      /* [count] id -> name */
  bool from_strings; /* the file held string labels (else integers / booleans) */
} porta_label_map;

PORTA_API void porta_label_map_free(porta_label_map *map);
/* Copies src into *dst (dst is overwritten, not freed first). */
PORTA_API porta_status porta_label_map_copy(porta_label_map *dst, const porta_label_map *src);
/* The id of a name, or -1. */
PORTA_API int porta_label_map_find(const porta_label_map *map, const char *name);
/* Writes {"num_labels":N,"from_strings":b,"id2label":{"0":"neg",...},"label2id":{...}}. */
PORTA_API porta_status porta_label_map_save(const porta_label_map *map, const char *path, char *err,
                                            size_t err_size);
PORTA_API porta_status porta_label_map_load(porta_label_map *out, const char *path, char *err,
                                            size_t err_size);

/* ---------------------------------------------------------------------------------------------
 * Data sets
 * ------------------------------------------------------------------------------------------- */
typedef enum porta_data_format {
  PORTA_DATA_AUTO = 0, /* by extension: .csv -> CSV, anything else -> JSON lines */
  PORTA_DATA_JSONL = 1,
  PORTA_DATA_CSV = 2,
} porta_data_format;

typedef struct porta_dataset_options {
  const char *text_field;  /* JSON key or CSV column of the text; NULL: "headline" */
  const char *label_field; /* NULL: "is_sarcastic"; "" : the file has no labels (labels are -1) */
  int64_t limit_rows;      /* keep only the first N readable rows; 0: all */
  porta_data_format format;
  /* When not NULL, labels are mapped through this map (evaluating a checkpoint); a label it does
   * not know skips the row. When NULL the map is built from the file. */
  const porta_label_map *label_map;
} porta_dataset_options;

PORTA_API void porta_dataset_options_init(porta_dataset_options *options);

typedef struct porta_skipped_row {
  int64_t line;     /* 1-based line where the row starts */
  char reason[120]; /* "bad JSON", "missing field \"headline\"", "invalid UTF-8", ... */
} porta_skipped_row;

typedef struct porta_dataset {
  int64_t count;
  char **texts;    /* [count] UTF-8, NUL-terminated */
  int32_t *labels; /* [count] label ids (-1 without labels) */
  int64_t *lines;  /* [count] 1-based line where each row starts */
  porta_label_map label_map;
  int64_t skipped_count;
  porta_skipped_row *skipped; /* [skipped_count] */
  char path[1024];
  /* "" or a report of labels that do not look like the rest of the column: a text label among
   * integer ones, or one on 1 to 3 rows of hundreds (most often a row whose columns slipped):
   * 'label "x" on 1 row (line 12): not an integer, as the other labels are (…)'. */
  char label_note[512];
} porta_dataset;

/* Reads a JSON-lines or CSV (RFC 4180: header row, quoted fields with "" escapes and embedded
 * newlines) file. CRLF and LF line ends both work; a UTF-8 BOM is ignored. Unreadable rows (bad
 * JSON, missing field, invalid UTF-8, empty text, unknown label) are skipped and listed in
 * skipped; a file with no readable row is PORTA_ERR_FORMAT, a missing file PORTA_ERR_IO. A CSV
 * quote that never closes, or closes before text (RFC 4180 allows only a separator or a line end
 * there), is PORTA_ERR_FORMAT naming the line where it opened: it would swallow the rows after it.
 * Labels unlike the rest of their column are reported in label_note. */
PORTA_API porta_status porta_dataset_load(porta_dataset **out, const char *path,
                                          const porta_dataset_options *options, char *err,
                                          size_t err_size);
PORTA_API void porta_dataset_free(porta_dataset *ds);
/* "skipped 2 rows: line 7 (bad JSON), line 9 (missing field "headline")" listing at most
 * max_listed lines; "" when nothing was skipped. */
PORTA_API void porta_dataset_skip_summary(const porta_dataset *ds, int max_listed, char *buf,
                                          size_t size);

/* ---------------------------------------------------------------------------------------------
 * Splits: train / valid / test row ids (indices into the data set), stratified by label, with
 * every copy of an identical text in the same part, the same for the same seed everywhere.
 * ------------------------------------------------------------------------------------------- */
typedef struct porta_split {
  int64_t *rows[3]; /* [0] train, [1] valid, [2] test; each sorted ascending */
  int64_t count[3];
  uint64_t seed;
  double valid_fraction, test_fraction;
} porta_split;

enum { PORTA_SPLIT_TRAIN = 0, PORTA_SPLIT_VALID = 1, PORTA_SPLIT_TEST = 2 };
/* "train", "valid", "test". */
PORTA_API const char *porta_split_name(int part);

PORTA_API porta_status porta_split_make(porta_split *out, const porta_dataset *ds,
                                        double valid_fraction, double test_fraction, uint64_t seed,
                                        char *err, size_t err_size);
PORTA_API void porta_split_free(porta_split *split);
/* split.json: {"seed":…,"valid_fraction":…,"test_fraction":…,"train":[ids],"valid":[…],…} */
PORTA_API porta_status porta_split_save(const porta_split *split, const char *path, char *err,
                                        size_t err_size);
PORTA_API porta_status porta_split_load(porta_split *out, const char *path, char *err,
                                        size_t err_size);

/* ---------------------------------------------------------------------------------------------
 * Batching. Rows are tokenised once; each epoch's order comes from (seed, epoch) alone, so a
 * resumed run sees the same batches.
 * ------------------------------------------------------------------------------------------- */
typedef enum porta_batch_order {
  PORTA_ORDER_SEQUENTIAL = 0, /* rows in order */
  PORTA_ORDER_BY_LENGTH = 1,  /* sorted by length (evaluation: least padding) */
  PORTA_ORDER_BUCKETED = 2, /* shuffle, sort by length within chunks of batches, shuffle batches */
} porta_batch_order;

typedef struct porta_epoch_plan {
  int64_t num_batches;
  int64_t *rows;        /* [total rows] positions into the caller's row list, batch after batch */
  int64_t *batch_start; /* [num_batches + 1] offsets into rows */
} porta_epoch_plan;

/* Plans one epoch over count rows of the given token lengths. chunk_batches (e.g. 100) is the
 * bucket size of PORTA_ORDER_BUCKETED in batches; seed and epoch pick the shuffle. */
PORTA_API porta_status porta_epoch_plan_make(porta_epoch_plan *out, const int32_t *lengths,
                                             int64_t count, int batch_size, porta_batch_order order,
                                             int chunk_batches, uint64_t seed, int64_t epoch);
PORTA_API void porta_epoch_plan_free(porta_epoch_plan *plan);

/* ---------------------------------------------------------------------------------------------
 * Metrics. Binary (2 classes): precision / recall / F1 of the positive class 1. More classes:
 * macro averages (the unweighted mean over classes; a class never predicted has precision 0).
 * ------------------------------------------------------------------------------------------- */
#define PORTA_MAX_CLASSES 64

typedef struct porta_metrics {
  int num_classes;
  int64_t count;
  double loss; /* mean cross-entropy, when the caller fills it; else 0 */
  double accuracy, precision, recall, f1;
  int64_t confusion[PORTA_MAX_CLASSES * PORTA_MAX_CLASSES]; /* [true][predicted] row-major */
} porta_metrics;

/* Counts predictions against labels (rows whose label is outside [0, num_classes) are ignored)
 * and computes the scores. */
PORTA_API porta_status porta_metrics_compute(porta_metrics *out, const int32_t *labels,
                                             const int32_t *predictions, int64_t count,
                                             int num_classes);
/* Scores from out->confusion (after filling it by hand or merging counts). */
PORTA_API void porta_metrics_finish(porta_metrics *m);
/* {"accuracy":…,"precision":…,"recall":…,"f1":…,"confusion":[[…],…]} (no braces around the
 * caller's extra fields: it writes a complete object). Returns the length written (snprintf). */
PORTA_API int porta_metrics_json(const porta_metrics *m, char *buf, size_t size);

/* ---------------------------------------------------------------------------------------------
 * Tokenised rows: every text encoded once, up front.
 * ------------------------------------------------------------------------------------------- */
typedef struct porta_encoded_rows {
  int64_t count;
  int32_t *ids;     /* all rows' ids back to back */
  int64_t *offsets; /* [count + 1]: row i is ids[offsets[i] .. offsets[i + 1]) */
  int32_t *lengths; /* [count] */
  int32_t *labels;  /* [count] (-1 without labels) */
  int32_t pad_id;
  int max_length; /* the truncation used */
} porta_encoded_rows;

/* Encodes texts[0..count) ([CLS] … [SEP] / <s> … </s>), each truncated to max_length ids
 * (0: the tokenizer's model_max_length, 512 when that is unbounded; callers cap it by the model's
 * positions). labels may be NULL (then -1). */
PORTA_API porta_status porta_encode_texts(porta_encoded_rows *out, const porta_tokenizer *tok,
                                          const char *const *texts, const int32_t *labels,
                                          int64_t count, int max_length, char *err,
                                          size_t err_size);
PORTA_API void porta_encoded_rows_free(porta_encoded_rows *rows);

/* Copies the rows rows[0..batch) of enc into host arrays padded to the batch's longest row:
 * ids / mask [batch, *seq_len], labels [batch] (may be NULL). Arrays need batch * max_length. */
PORTA_API void porta_batch_fill(int32_t *ids, int32_t *mask, int32_t *labels, int *seq_len,
                                const porta_encoded_rows *enc, const int64_t *rows, int batch);
/* The same, padded to at least pad_to tokens (a data-parallel shard pads to its whole batch's
 * longest row, so that its rows compute what they would in the whole batch). */
PORTA_API void porta_batch_fill_padded(int32_t *ids, int32_t *mask, int32_t *labels, int *seq_len,
                                       const porta_encoded_rows *enc, const int64_t *rows,
                                       int batch, int pad_to);

/* Runs model + head over rows[0..count) of enc (all rows when rows is NULL) in eval mode under
 * no_grad, batch_size rows at a time sorted by length. probs [count, num_labels] (may be NULL)
 * receives softmax probabilities; predictions [count] (may be NULL) the argmax; metrics (may be
 * NULL) the scores against enc's labels; *mean_loss (may be NULL) the mean cross-entropy.
 * Restores the training mode it found. */
PORTA_API porta_status porta_classify_rows(float *probs, int32_t *predictions,
                                           porta_metrics *metrics, double *mean_loss,
                                           porta_model *model, porta_head *head,
                                           const porta_encoded_rows *enc, const int64_t *rows,
                                           int64_t count, int batch_size);

/* ---------------------------------------------------------------------------------------------
 * Checkpoints: a Hub-style folder (porta_model_save: config.json, model.safetensors, tokenizer
 * files) + labels.json + trainer_state.json (+ optimizer.safetensors with each parameter's
 * "<name>.exp_avg" / "<name>.exp_avg_sq"). Written to "<dir>.tmp", then the old folder is renamed
 * to "<dir>.old", the new one to dir, and "<dir>.old" removed: a crash at any point leaves a
 * loadable checkpoint (porta_checkpoint_resolve finds it).
 * ------------------------------------------------------------------------------------------- */
typedef struct porta_train_state {
  int64_t step;        /* optimizer steps done */
  int64_t epoch;       /* the epoch in progress (0-based) */
  int64_t next_batch;  /* the next micro-batch of that epoch's plan */
  int64_t total_steps; /* the schedule's length */
  uint64_t seed;
  uint64_t rng_stream; /* porta_rng_stream of the context */
  double best_f1;      /* best valid F1 so far (-1: none yet) */
  int64_t best_epoch;  /* -1: none */
  double last_loss;
} porta_train_state;

/* Saves a checkpoint to dir (opt may be NULL: no optimizer state; state may be NULL). */
PORTA_API porta_status porta_checkpoint_save(const char *dir, const porta_model *model,
                                             const porta_head *head, const porta_label_map *labels,
                                             porta_optimizer *opt, const porta_param *params,
                                             int param_count, const porta_train_state *state,
                                             char *err, size_t err_size);
/* The folder to load for dir: dir itself, or "<dir>.old" when a crash left only that.
 * PORTA_ERR_NOT_FOUND when neither holds a config.json. */
PORTA_API porta_status porta_checkpoint_resolve(char *out, size_t out_size, const char *dir,
                                                char *err, size_t err_size);
/* Loads a checkpoint folder for inference or training: body, head (kind from config.json's
 * "porta_head", default cls; number of labels from the classifier), label map (labels.json, else
 * config.json's id2label, else "0".."N-1"); a labels.json whose count differs from the
 * classifier's rows is PORTA_ERR_SHAPE. */
PORTA_API porta_status porta_checkpoint_load(porta_model **model, porta_head **head,
                                             porta_label_map *labels, porta_context *ctx,
                                             const char *dir, char *err, size_t err_size);
PORTA_API porta_status porta_train_state_load(porta_train_state *out, const char *dir, char *err,
                                              size_t err_size);
/* Restores optimizer.safetensors of dir into opt (params as given at creation). */
PORTA_API porta_status porta_optimizer_state_load(porta_optimizer *opt, const porta_param *params,
                                                  int param_count, const char *dir,
                                                  const porta_train_state *state, char *err,
                                                  size_t err_size);

/* ---------------------------------------------------------------------------------------------
 * The fine-tuning loop behind `porta train`.
 * ------------------------------------------------------------------------------------------- */
typedef struct porta_step_record {
  int64_t step;  /* 1-based optimizer step */
  int64_t epoch; /* 0-based */
  float loss;    /* mean over the step's micro-batches */
  float lr;
  double seq_per_s;
} porta_step_record;

typedef struct porta_train_options {
  const char *model_dir;                /* Hub folder (BERT or RoBERTa family) */
  const char *data_path;                /* JSON lines or CSV */
  const char *text_field;               /* NULL: "headline" */
  const char *label_field;              /* NULL: "is_sarcastic" */
  int64_t limit_rows;                   /* first N readable rows; 0: all */
  double valid_fraction, test_fraction; /* 0.1, 0.1 */
  uint64_t seed;                        /* 42 */
  porta_head_kind head;                 /* PORTA_HEAD_CLS */
  bool freeze_body;
  float dropout;           /* head dropout; < 0: the config's (0.1 for MiniLM) */
  int max_length;          /* 0: the model's */
  int epochs;              /* 3 */
  int batch_size;          /* 32 */
  float lr;                /* 5e-5 */
  float weight_decay;      /* 0.01 (not on biases / LayerNorm weights) */
  float beta1, beta2, eps; /* 0.9, 0.999, 1e-8 */
  double warmup;           /* < 1: a fraction of the total steps; >= 1: steps */
  float max_grad_norm;     /* 1.0; <= 0: no clipping */
  int grad_accum;          /* micro-batches per optimizer step (1) */
  /* Padded tokens (rows × the longest row) one forward + backward pass may hold (2048): a batch
   * past it runs as several passes over its rows sorted by length, whose gradients add up to the
   * whole batch's (the same step, up to float rounding and dropout masks), so one long row does
   * not pad 31 short ones to its length and the activations stay bounded. <= 0: never split. */
  int max_batch_tokens;
  int64_t max_steps; /* > 0: stop after this many optimizer steps (the schedule ends there) */
  porta_backend_kind backend;
  int device;                  /* -1: default */
  int num_threads;             /* 0: all cores */
  porta_selftest_use selftest; /* consult the device self-test (porta_context_options.selftest) */
  const char *out_dir;         /* NULL: runs/<YYYYmmdd-HHMMSS> */
  const char *resume_dir;      /* a run folder: continue from its last/ with its settings.json */
  int64_t save_every;          /* also write last/ every N steps (0: at each epoch's end only) */
  /* --resume checks that the data file holds the rows the run began with (settings.json records
   * their fingerprint) and refuses otherwise; true goes on with the changed rows. */
  bool allow_changed_data;
  int64_t stop_after; /* > 0: return after N steps of this call, as if killed (tests) */
  int log_every;      /* plain log line every N steps when stderr is not a TTY (50) */
  int progress;       /* -1: progress bar when stderr is a TTY; 0: never; 1: always */
  bool quiet;         /* nothing on stderr */
  bool profile;       /* after training, each op's share of the device time (PORTA_PROFILE=1) */
  /* When not NULL and it becomes non-zero (a signal handler sets it), the loop writes last/ after
   * the step in progress and returns with result->interrupted set: --resume continues exactly. */
  const volatile int *cancel;
  /* Called after every optimizer step (may be NULL). */
  void (*on_step)(void *user, const porta_step_record *record);
  void *user;
  /* Data-parallel training (porta/dist.h): NULL or one rank: a single process. With N ranks,
   * each runs porta_train with the same options; --batch-size stays the global batch, rank r
   * computes its shard of every batch, and rank 0 alone writes the run folder and prints. */
  porta_comm *comm;
  size_t bucket_bytes; /* gradients all-reduced in buckets of this size (0: 25 MB) */
} porta_train_options;

PORTA_API void porta_train_options_init(porta_train_options *options);

/* What a run folder's settings.json (written by porta_train) says about the run: the options it
 * was started with (options' string pointers are NULL: the strings are the arrays beside them),
 * for programs that evaluate or inspect a run (porta eval --run). */
typedef struct porta_run_settings {
  porta_train_options options;
  char model_dir[1024], data_path[1024], text_field[256], label_field[256];
} porta_run_settings;
/* Reads run_dir/settings.json. A folder without one is PORTA_ERR_IO (or NOT_FOUND) naming it; a
 * malformed one PORTA_ERR_FORMAT. */
PORTA_API porta_status porta_run_settings_load(porta_run_settings *out, const char *run_dir,
                                               char *err, size_t err_size);

typedef struct porta_train_result {
  char run_dir[1024];
  int64_t steps;    /* optimizer steps done in total */
  bool interrupted; /* stop_after or cancel ended the call (last/ holds the state) */
  double seconds;
  float last_loss;
  int64_t best_epoch; /* -1 when no valid split */
  porta_metrics best_valid;
  bool has_test;
  porta_metrics test; /* from the best checkpoint */
} porta_train_result;

/* Runs the whole job: data, split, tokenise, model + head, the loop, evaluation, checkpoints,
 * the run folder. Messages about progress go to stderr (unless quiet); errors to err. */
PORTA_API porta_status porta_train(porta_train_result *result, const porta_train_options *options,
                                   char *err, size_t err_size);

#ifdef __cplusplus
}
#endif

#endif
