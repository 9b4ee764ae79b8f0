/* porta — public API section: model_io (included by porta/porta.h).
 *
 * Reading and writing Hugging Face checkpoint folders without Python:
 *   - config.json                      porta_config_load / porta_config_save
 *   - model.safetensors (+ sharded)    porta_weights_open (mmap, validated) /
 * porta_safetensors_write
 *   - pytorch_model.bin (+ sharded)    porta_weights_open (zip format of torch >= 1.6 and the
 * legacy format), through a restricted unpickler with the contract of
 *                                      torch.load(weights_only=True): nothing is ever executed
 *   - porta_checkpoint_convert         writes model.safetensors beside a pytorch_model.bin
 * None of these need a porta_context: errors are returned as a status and a message written to
 * err[0..err_size) (err may be NULL). Messages name the file, the tensor and the field.
 */
#ifndef PORTA_MODEL_IO_H
#define PORTA_MODEL_IO_H

#include "porta/porta.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * config.json
 * ------------------------------------------------------------------------------------------- */
/* A model's configuration in the BERT vocabulary. Supported model_type values: "bert", "roberta",
 * "xlm-roberta", "camembert" (the RoBERTa family shares BERT's keys) and "distilbert", whose keys
 * are mapped (dim → hidden_size, n_layers → num_hidden_layers, n_heads → num_attention_heads,
 * hidden_dim → intermediate_size, activation → hidden_act, dropout → hidden_dropout_prob,
 * attention_dropout → attention_probs_dropout_prob; layer_norm_eps = 1e-12 and
 * type_vocab_size = 0, i.e. no token-type embeddings). Anything else is PORTA_ERR_FORMAT.
 *
 * The struct owns heap memory (labels, a copy of the source JSON): release it with
 * porta_config_free, and copy it only with porta_config_copy, never by assignment. */
typedef struct porta_model_config {
  char model_type[32];    /* "bert", "roberta", "xlm-roberta", "camembert", "distilbert" */
  char architecture[128]; /* architectures[0] ("BertForSequenceClassification") or "" */
  int64_t hidden_size;
  int64_t num_hidden_layers;
  int64_t num_attention_heads;
  int64_t intermediate_size;
  char hidden_act[32];   /* "gelu" (erf), "gelu_new", "relu", ... as written in the file */
  double layer_norm_eps; /* default 1e-12 */
  int64_t max_position_embeddings;
  int64_t type_vocab_size; /* 0 for distilbert (no token-type embeddings) */
  int64_t vocab_size;
  int64_t pad_token_id; /* default 0 (RoBERTa checkpoints say 1) */
  float hidden_dropout_prob;
  float attention_probs_dropout_prob;
  float classifier_dropout; /* < 0 when absent/null (transformers then uses hidden_dropout_prob) */
  char position_embedding_type[32]; /* only "absolute" is accepted */
  /* Classification labels, when the file has id2label (or num_labels): num_labels names, label i
   * is id2label[i] ("LABEL_i" when the file gave only num_labels). num_labels is 0 without any. */
  int num_labels;
  char **id2label;
  /* Non-fatal notes, e.g. "config.json has no model_type; using \"bert\" from architectures
   * BertForSequenceClassification". "" when none. */
  char warning[256];
  /* private: the parsed source JSON (a cJSON *), so porta_config_save keeps its other keys. */
  void *source_json;
} porta_model_config;

/* Fills cfg with the defaults of bert-base-uncased for model_type "bert", roberta-base for
 * "roberta" / "xlm-roberta" / "camembert" (pad 1, 514 positions, 1 token type), or
 * distilbert-base-uncased for "distilbert". Other types: PORTA_ERR_INVALID_ARGUMENT.
 * No source JSON (porta_config_save then writes only the known keys). */
PORTA_API porta_status porta_config_init(porta_model_config *cfg, const char *model_type, char *err,
                                         size_t err_size);

/* Reads path_or_dir (a config.json, or a folder holding one). A missing model_type falls back to
 * architectures[0] (BertForSequenceClassification → bert, RobertaModel → roberta, ...) and sets
 * cfg->warning. Errors: PORTA_ERR_IO (unreadable), PORTA_ERR_FORMAT (bad JSON, unknown
 * model_type, missing or mistyped required field, hidden_size not divisible by
 * num_attention_heads, unsupported position_embedding_type), PORTA_ERR_LIMIT (file over 16 MiB).
 * On failure cfg holds nothing that needs freeing. */
PORTA_API porta_status porta_config_load(porta_model_config *cfg, const char *path_or_dir,
                                         char *err, size_t err_size);

/* Checks the invariants porta_config_load checks (positive sizes, divisibility, known type). */
PORTA_API porta_status porta_config_validate(const porta_model_config *cfg, char *err,
                                             size_t err_size);

/* Writes a config.json that transformers' AutoConfig / AutoModel.from_pretrained accept: the
 * source JSON's keys (when cfg was loaded from a file) with the struct's fields written over
 * them, plus id2label / label2id / num_labels-style keys when num_labels > 0. extra_json (may be
 * NULL) is a JSON object whose keys are added last, e.g. "{\"problem_type\":
 * \"single_label_classification\"}". path is a file, or a folder (then <path>/config.json).
 * Written to a temporary file in the same folder and renamed over path. */
PORTA_API porta_status porta_config_save(const porta_model_config *cfg, const char *path,
                                         const char *extra_json, char *err, size_t err_size);

/* Sets num_labels and id2label (names copied; names may be NULL for "LABEL_0", "LABEL_1", ...). */
PORTA_API porta_status porta_config_set_labels(porta_model_config *cfg, int num_labels,
                                               const char *const *names, char *err,
                                               size_t err_size);

/* Deep copy (dst must not hold anything: it is overwritten). */
PORTA_API porta_status porta_config_copy(porta_model_config *dst, const porta_model_config *src,
                                         char *err, size_t err_size);

/* Releases the labels and source JSON and zeroes the struct. Safe on a zeroed struct. */
PORTA_API void porta_config_free(porta_model_config *cfg);

/* ---------------------------------------------------------------------------------------------
 * Weights: the named tensors of a checkpoint (read-only)
 * ------------------------------------------------------------------------------------------- */
#define PORTA_WEIGHTS_MAX_DIMS 8
#define PORTA_WEIGHTS_MAX_NAME 512 /* bytes of a tensor name, without the NUL */
#define PORTA_WEIGHTS_MAX_TENSORS 1000000

typedef enum porta_weight_dtype {
  PORTA_WEIGHT_F32 = 0,
  PORTA_WEIGHT_F16 = 1,
  PORTA_WEIGHT_BF16 = 2,
  PORTA_WEIGHT_F64 = 3,
  PORTA_WEIGHT_I64 = 4,
  PORTA_WEIGHT_I32 = 5,
  PORTA_WEIGHT_I16 = 6,
  PORTA_WEIGHT_I8 = 7,
  PORTA_WEIGHT_U8 = 8,
  PORTA_WEIGHT_BOOL = 9,
} porta_weight_dtype;

/* "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL" (safetensors' spelling). */
PORTA_API const char *porta_weight_dtype_name(porta_weight_dtype dtype);
/* Bytes per element. */
PORTA_API size_t porta_weight_dtype_size(porta_weight_dtype dtype);

typedef struct porta_weights porta_weights;

/* Opens a checkpoint. path is a file (*.safetensors, *.bin, *.index.json) or a model folder,
 * searched in this order: model.safetensors, model.safetensors.index.json (sharded),
 * pytorch_model.bin, pytorch_model.bin.index.json. safetensors files are memory-mapped and
 * validated up front (header length, JSON, dtypes, shape × dtype size == byte span, spans inside
 * the file and not overlapping); pytorch_model.bin goes through the restricted unpickler.
 * Errors: PORTA_ERR_NOT_FOUND (no checkpoint in the folder), PORTA_ERR_IO, PORTA_ERR_FORMAT,
 * PORTA_ERR_LIMIT. On failure *out is NULL. */
PORTA_API porta_status porta_weights_open(porta_weights **out, const char *path, char *err,
                                          size_t err_size);
PORTA_API void porta_weights_close(porta_weights *w);

/* "safetensors", "pytorch-zip" or "pytorch-legacy" (the first file's format). */
PORTA_API const char *porta_weights_format(const porta_weights *w);
/* Number of tensors; indices run 0..count-1 in a stable order (sorted by name). */
PORTA_API int porta_weights_count(const porta_weights *w);
/* Tensor name exactly as stored ("bert.encoder.layer.0.attention.self.query.weight"). */
PORTA_API const char *porta_weights_name(const porta_weights *w, int index);
/* Index of the tensor with this exact name, or -1. */
PORTA_API int porta_weights_find(const porta_weights *w, const char *name);
PORTA_API porta_weight_dtype porta_weights_dtype(const porta_weights *w, int index);
PORTA_API int porta_weights_ndim(const porta_weights *w, int index);
/* ndim sizes (a scalar has ndim 0). */
PORTA_API const int64_t *porta_weights_shape(const porta_weights *w, int index);
PORTA_API int64_t porta_weights_numel(const porta_weights *w, int index);
/* The file the tensor comes from (a shard's path for sharded checkpoints). */
PORTA_API const char *porta_weights_file(const porta_weights *w, int index);

/* Copies the tensor into dst[0..count) as f32, converting F32/F16/BF16/F64 (count must equal
 * numel). Integer tensors are PORTA_ERR_DTYPE (use porta_weights_read_i64). */
PORTA_API porta_status porta_weights_read_f32(const porta_weights *w, int index, float *dst,
                                              size_t count, char *err, size_t err_size);
/* Copies an integer or bool tensor (I64/I32/I16/I8/U8/BOOL) into dst as int64 (count == numel);
 * float tensors are PORTA_ERR_DTYPE. */
PORTA_API porta_status porta_weights_read_i64(const porta_weights *w, int index, int64_t *dst,
                                              size_t count, char *err, size_t err_size);

/* ---------------------------------------------------------------------------------------------
 * Writing safetensors
 * ------------------------------------------------------------------------------------------- */
/* One f32 array to write: data holds prod(shape) floats, row-major. */
typedef struct porta_named_array {
  const char *name; /* written exactly as given (use the Hub's names to load in transformers) */
  int ndim;         /* 0..PORTA_WEIGHTS_MAX_DIMS */
  int64_t shape[PORTA_WEIGHTS_MAX_DIMS];
  const float *data;
} porta_named_array;

/* Writes arrays as an F32 safetensors file. metadata_json (may be NULL) is a JSON object of
 * string values stored as __metadata__; {"format": "pt"} is added when it has no "format" (the
 * key transformers checks). Data is written to "<path>.tmp-XXXXXX" in the same folder, fsynced
 * and renamed over path, so a crash or failure never leaves half a file and an existing file
 * stays intact on failure. Duplicate or empty names are PORTA_ERR_INVALID_ARGUMENT. */
PORTA_API porta_status porta_safetensors_write(const char *path, const porta_named_array *arrays,
                                               int count, const char *metadata_json, char *err,
                                               size_t err_size);

/* Reads <model_dir>/pytorch_model.bin (or the sharded pytorch_model.bin.index.json set, or a .bin
 * file given directly) and writes model.safetensors beside it, keeping every tensor's name, dtype
 * (F32/F16/BF16/I64...) and values; tensors that share a storage (tied weights, views) each get
 * their own contiguous copy, as safetensors requires. Atomic like porta_safetensors_write. */
PORTA_API porta_status porta_checkpoint_convert(const char *model_dir, char *err, size_t err_size);

#ifdef __cplusplus
}
#endif

#endif
