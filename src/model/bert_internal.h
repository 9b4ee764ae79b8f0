/* The structures behind porta_model and porta_head (not public), shared by src/model/bert*.c,
 * head*.c and model_save*.c. */
#ifndef PORTA_BERT_INTERNAL_H
#define PORTA_BERT_INTERNAL_H

#include "nn/nn.h"
#include "porta/porta.h"

#define PORTA_BERT_NAME_MAX 160

typedef struct porta_bert_layer {
  porta_nn_attention attention;
  porta_nn_mlp mlp;
} porta_bert_layer;

/* One parameter: where its tensor lives, its name without the family prefix
 * ("encoder.layer.0.attention.self.query.weight") and its full name ("bert." + that). */
typedef struct porta_bert_param {
  porta_tensor **slot;
  char name[PORTA_BERT_NAME_MAX];      /* as in a checkpoint without prefix */
  char full_name[PORTA_BERT_NAME_MAX]; /* as saved */
  int ndim;
  int64_t shape[2];
  bool weight_decay;
  bool is_pooler;
} porta_bert_param;

struct porta_model {
  porta_context *ctx;
  porta_model_config cfg;
  porta_model_family family;
  const char *prefix; /* "bert." or "roberta." */
  char source_dir[4096];
  int num_heads;
  porta_nn_activation act;
  float hidden_dropout, attn_dropout;

  porta_tensor *word_embeddings;       /* [V, D] */
  porta_tensor *position_embeddings;   /* [P, D] */
  porta_tensor *token_type_embeddings; /* [T, D] */
  porta_nn_layer_norm embeddings_norm;
  int num_layers;
  porta_bert_layer *layers;
  bool has_pooler;
  porta_nn_linear pooler; /* dense [D, D] + tanh; tensors NULL without a pooler */

  /* The checkpoint's classifier (host copies; heads start from it), clf_labels 0 if none:
   * "classifier.weight/bias" [N, D] (BERT-style, also what porta saves for cls / mean heads), or
   * RoBERTa's "classifier.dense" [D, D] + "classifier.out_proj" [N, D] (clf_dense_* not NULL). */
  int clf_labels;
  float *clf_weight, *clf_bias;
  float *clf_dense_weight, *clf_dense_bias;

  int num_params;
  porta_bert_param *params;
};

struct porta_head {
  porta_model *model;
  porta_head_kind kind;
  int num_labels;
  float dropout;
  porta_nn_linear classifier; /* [N, D], [N] */
  /* pooler head: the dense layer, the model's (owns_pooler false) or its own. For the RoBERTa
   * family it is RobertaClassificationHead's classifier.dense (dropout before it too) and the
   * classifier is classifier.out_proj. */
  porta_nn_linear pooler;
  bool owns_pooler;
  bool roberta_style;
};

/* The parameter table of a body with cfg's sizes (slots point into model); with_pooler adds the
 * pooler's two entries. Allocates model->params. */
porta_status porta_bert_build_params(porta_model *model, bool with_pooler);

/* Writes the tensors' names (full names) and sets requires_grad. */
porta_status porta_bert_finish_params(porta_model *model);

#endif
