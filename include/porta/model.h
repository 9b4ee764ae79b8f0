/* porta — public API section: model (included by porta/porta.h).
 *
 * BERT and RoBERTa encoder bodies loaded from a Hugging Face Hub folder, classification heads on
 * top of them, and saving body + head as a Hub folder that transformers loads.
 *
 *   porta_model *model;  porta_head *head;  porta_model_output out;
 *   porta_model_load(&model, ctx, "models/all-MiniLM-L6-v2");
 *   porta_head_options ho;  porta_head_options_init(&ho);  ho.num_labels = 2;
 *   porta_head_create(&head, model, &ho);
 *   porta_model_input in = {ids, mask, NULL, labels, batch, seq_len};
 *   porta_model_classify(&out, model, head, &in, NULL);   // out.loss, out.logits
 *   porta_backward(out.loss);  ...optimizer step...  porta_release_temporaries(ctx);
 *
 * Every tensor in a porta_model_output is a temporary of the context (valid until
 * porta_release_temporaries). Parameters are f32, caller-visible tensors owned by the model /
 * head, named with the names porta_model_save writes (the Hub's: "bert.encoder.layer.0.
 * attention.self.query.weight", "classifier.weight").
 *
 * A user head: run porta_model_forward and build on out.last_hidden_state [B, S, hidden] (and
 * out.attention_mask [B, S], 1 for tokens / 0 for padding) with porta ops.
 */
#ifndef PORTA_MODEL_H
#define PORTA_MODEL_H

#include "porta/porta.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PORTA_MODEL_MAX_LAYERS 48

typedef enum porta_model_family {
  PORTA_MODEL_BERT = 1,    /* bert: positions 0..S-1, token types */
  PORTA_MODEL_ROBERTA = 2, /* roberta, xlm-roberta, camembert: positions from padding_idx + 1 */
} porta_model_family;

typedef struct porta_model porta_model;
typedef struct porta_head porta_head;

/* Loads config.json + weights (model.safetensors, sharded, or pytorch_model.bin) of a Hub folder.
 * Tensor names may carry the "bert." / "roberta." prefix or not; "embeddings.position_ids" and
 * task-head tensors that the body does not need are skipped, but BERT's pooler and a classifier
 * (see porta_model_classifier_labels) are kept so heads can start from them.
 * F16/BF16 weights are converted to f32. Body parameters require grad. Errors name the missing
 * tensor or both shapes; hidden_act other than gelu (erf), gelu_new / gelu_pytorch_tanh /
 * gelu_fast (tanh form) or relu is PORTA_ERR_UNSUPPORTED, and so is a model_type outside the
 * BERT / RoBERTa families (bert, roberta, xlm-roberta, camembert). On failure *out is NULL.
 * Note: transformers' word embeddings have padding_idx = pad_token_id, which keeps that row's
 * gradient at zero; porta has no such rule, which changes nothing when pads are masked (masked
 * keys get exactly zero attention, so their tokens receive exactly zero gradient). */
PORTA_API porta_status porta_model_load(porta_model **out, porta_context *ctx,
                                        const char *model_dir);
/* A body with random weights from a config (weights ~ N(0, 0.02) from seed, biases 0, LayerNorm
 * 1/0, as transformers initialises), for tests and benchmarks. The config is copied. */
PORTA_API porta_status porta_model_create(porta_model **out, porta_context *ctx,
                                          const porta_model_config *cfg, uint64_t seed);
PORTA_API void porta_model_free(porta_model *model);

PORTA_API const porta_model_config *porta_model_get_config(const porta_model *model);
PORTA_API porta_model_family porta_model_get_family(const porta_model *model);
PORTA_API porta_context *porta_model_context(const porta_model *model);
/* The folder it was loaded from ("" for porta_model_create). */
PORTA_API const char *porta_model_source_dir(const porta_model *model);
/* The longest sequence the position embeddings allow: max_position_embeddings for BERT,
 * max_position_embeddings - pad_token_id - 1 for RoBERTa (its positions start at pad + 1). */
PORTA_API int64_t porta_model_max_seq_len(const porta_model *model);
/* Whether the checkpoint held BERT's pooler (pooler.dense.weight/bias). */
PORTA_API bool porta_model_has_pooler(const porta_model *model);
/* Number of labels N of the checkpoint's classifier, 0 if none: "classifier.weight" [N, hidden]
 * + "classifier.bias" (BertForSequenceClassification; what porta saves for cls / mean heads),
 * or RoBERTa's "classifier.dense" [hidden, hidden] + "classifier.out_proj" [N, hidden]
 * (RobertaForSequenceClassification; the RoBERTa pooler head starts from it). */
PORTA_API int porta_model_classifier_labels(const porta_model *model);

/* Freezes (trainable = false) or unfreezes the body: requires_grad of every body parameter except
 * the pooler, which only the pooler head uses and which trains with it. */
PORTA_API porta_status porta_model_set_trainable(porta_model *model, bool trainable);
/* Dropout probabilities of the body in training mode (defaults: the config's
 * hidden_dropout_prob and attention_probs_dropout_prob, as transformers). A negative value keeps
 * the current one. attention = 0 lets training use porta_attention's fused kernel (faster;
 * transformers drops attention probabilities, which needs the scores as a separate tensor). */
PORTA_API porta_status porta_model_set_dropout(porta_model *model, float hidden, float attention);

/* ---------------------------------------------------------------------------------------------
 * Forward
 * ------------------------------------------------------------------------------------------- */
/* One batch in host memory, row-major [batch, seq_len]. Ids are checked against [0, vocab) (and
 * token types against [0, type_vocab_size)) on the host before anything is uploaded. */
typedef struct porta_model_input {
  const int32_t *input_ids;      /* [batch * seq_len] */
  const int32_t *attention_mask; /* 1 = token, 0 = padding; NULL: all tokens */
  const int32_t *token_type_ids; /* NULL: all 0 */
  const int32_t *labels;         /* [batch] class indices (-100 ignored), or NULL: no loss */
  int batch, seq_len;
} porta_model_input;

typedef struct porta_forward_options {
  bool output_hidden_states; /* embeddings output + every layer's output */
  bool output_attentions;    /* each layer's attention probabilities [B, H, S, S] */
} porta_forward_options;

/* Like transformers' SequenceClassifierOutput / BaseModelOutput. Temporaries. */
typedef struct porta_model_output {
  porta_tensor *loss;              /* [1], when labels were given and a head ran */
  porta_tensor *logits;            /* [B, num_labels], when a head ran */
  porta_tensor *last_hidden_state; /* [B, S, hidden] */
  porta_tensor *attention_mask;    /* [B, S] f32, 1 = token / 0 = padding (for user heads) */
  int num_hidden_states;           /* num_hidden_layers + 1 when requested, else 0 */
  porta_tensor *hidden_states[PORTA_MODEL_MAX_LAYERS + 1];
  int num_attentions; /* num_hidden_layers when requested, else 0 */
  porta_tensor *attentions[PORTA_MODEL_MAX_LAYERS];
} porta_model_output;

/* Runs the body: fills last_hidden_state, attention_mask and (on request) hidden_states /
 * attentions; loss and logits are NULL. options may be NULL. Works on every backend. */
PORTA_API porta_status porta_model_forward(porta_model_output *out, porta_model *model,
                                           const porta_model_input *input,
                                           const porta_forward_options *options);

/* ---------------------------------------------------------------------------------------------
 * Heads
 * ------------------------------------------------------------------------------------------- */
typedef enum porta_head_kind {
  PORTA_HEAD_CLS = 1,    /* dropout on the first token ([CLS] / <s>) + linear */
  PORTA_HEAD_POOLER = 2, /* BERT: the pooler (dense + tanh on token 0) + dropout + linear
                            (= BertForSequenceClassification). RoBERTa family: dropout + dense +
                            tanh + dropout + out_proj on <s> (= RobertaForSequenceClassification,
                            names classifier.dense / classifier.out_proj) */
  PORTA_HEAD_MEAN = 3,   /* attention-mask-weighted mean of the tokens + dropout + linear */
} porta_head_kind;

/* "cls", "pooler", "mean". */
PORTA_API const char *porta_head_kind_name(porta_head_kind kind);
PORTA_API porta_status porta_head_kind_parse(const char *name, porta_head_kind *out);

typedef struct porta_head_options {
  porta_head_kind kind; /* default PORTA_HEAD_CLS */
  int num_labels;       /* > 0; 0: the checkpoint's classifier's, else config num_labels */
  float dropout;        /* < 0 (default): config classifier_dropout, else hidden_dropout */
  uint64_t seed;        /* classifier init: weights ~ N(0, init_std) from this seed, bias 0 */
  float init_std;       /* default 0.02 (transformers' initializer_range) */
  bool from_checkpoint; /* default true: start from the checkpoint's classifier (and pooler)
                           when its shape fits */
} porta_head_options;
PORTA_API void porta_head_options_init(porta_head_options *options);

/* A head on model (which must outlive it). With from_checkpoint, a head starts from the
 * checkpoint's classifier when its kind matches the classifier's style (BERT-style linear for
 * cls / mean / BERT pooler, RoBERTa's dense + out_proj for the RoBERTa pooler head) and its
 * number of labels is num_labels; else it is initialised from seed. BERT's pooler head uses the
 * body's pooler when the checkpoint has one, else a new dense layer initialised like the
 * classifier. */
PORTA_API porta_status porta_head_create(porta_head **out, porta_model *model,
                                         const porta_head_options *options);
PORTA_API void porta_head_free(porta_head *head);
PORTA_API porta_head_kind porta_head_get_kind(const porta_head *head);
PORTA_API int porta_head_num_labels(const porta_head *head);

/* logits [B, num_labels] from a body output (its last_hidden_state and attention_mask). */
PORTA_API porta_status porta_head_forward(porta_tensor **logits, porta_head *head,
                                          const porta_model_output *body);

/* Body + head (+ cross-entropy loss when input->labels is set). */
PORTA_API porta_status porta_model_classify(porta_model_output *out, porta_model *model,
                                            porta_head *head, const porta_model_input *input,
                                            const porta_forward_options *options);

/* ---------------------------------------------------------------------------------------------
 * Parameters
 * ------------------------------------------------------------------------------------------- */
typedef struct porta_param {
  porta_tensor *tensor;
  const char *name;  /* the Hub name, as saved ("bert.embeddings.word_embeddings.weight") */
  bool weight_decay; /* false for biases and LayerNorm weights (transformers' rule) */
} porta_param;

/* Writes the parameters of the body (model may be NULL) then of the head (head may be NULL) into
 * params[0..capacity); *count receives the total (call with capacity 0 to size the array;
 * PORTA_ERR_LIMIT when it did not fit). Frozen parameters are listed too (check
 * porta_tensor_requires_grad). Order is stable: embeddings, layers, pooler, head. */
PORTA_API porta_status porta_model_parameters(const porta_model *model, const porta_head *head,
                                              porta_param *params, int capacity, int *count);

/* ---------------------------------------------------------------------------------------------
 * Saving
 * ------------------------------------------------------------------------------------------- */
/* Writes a Hub-style folder dir (created if missing): config.json (with num_labels / id2label
 * when a head is given, "porta_head": its kind), model.safetensors with "bert."/"roberta."
 * prefixed body names + the head's names, and the tokenizer files of the source folder. Each file
 * is written to a temporary and renamed. AutoModel.from_pretrained loads the body; for BERT's
 * heads and RoBERTa's pooler head AutoModelForSequenceClassification loads the head too
 * (identical logits for the pooler heads; for BERT cls / mean it would add BERT's pooler, which
 * porta's heads do not use). head may be NULL. label_names may be NULL ("LABEL_i"). */
PORTA_API porta_status porta_model_save(const porta_model *model, const porta_head *head,
                                        const char *const *label_names, const char *dir);

#ifdef __cplusplus
}
#endif

#endif
