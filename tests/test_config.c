/* config.json: BERT / RoBERTa / MiniLM / DistilBERT files written by transformers parse into the
 * right fields; broken files fail with a message naming the field or value; a config without
 * model_type falls back to architectures with a warning; save → load gives the same config and
 * keeps the source file's other keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers/check.h"
#include "porta/porta.h"

#define DATA PORTA_TEST_DATA "/modelio"

static check_counter checks;

static void print_config(const char *label, const porta_model_config *c) {
  printf("%-18s type=%s arch=%s hidden=%lld layers=%lld heads=%lld inter=%lld act=%s eps=%g "
         "pos=%lld types=%lld vocab=%lld pad=%lld drop=%g/%g labels=%d\n",
         label, c->model_type, c->architecture[0] ? c->architecture : "-",
         (long long)c->hidden_size, (long long)c->num_hidden_layers,
         (long long)c->num_attention_heads, (long long)c->intermediate_size, c->hidden_act,
         c->layer_norm_eps, (long long)c->max_position_embeddings, (long long)c->type_vocab_size,
         (long long)c->vocab_size, (long long)c->pad_token_id, (double)c->hidden_dropout_prob,
         (double)c->attention_probs_dropout_prob, c->num_labels);
}

static void test_known_configs(void) {
  char err[512];
  porta_model_config c;
  CHECK(&checks, porta_config_load(&c, DATA "/config_bert", err, sizeof(err)) == PORTA_OK, "%s",
        err);
  print_config("tiny bert", &c);
  CHECK(&checks,
        strcmp(c.model_type, "bert") == 0 && c.hidden_size == 16 && c.num_hidden_layers == 2 &&
            c.num_attention_heads == 4 && c.intermediate_size == 32 && c.vocab_size == 64 &&
            c.max_position_embeddings == 32 && c.type_vocab_size == 2 && c.pad_token_id == 0 &&
            c.layer_norm_eps == 1e-12 && strcmp(c.hidden_act, "gelu") == 0 &&
            c.hidden_dropout_prob == 0.1f && c.classifier_dropout < 0.0f,
        "bert fields");
  CHECK(&checks,
        c.num_labels == 3 && strcmp(c.id2label[0], "neg") == 0 && strcmp(c.id2label[2], "pos") == 0,
        "labels");
  CHECK(&checks, c.warning[0] == '\0', "unexpected warning %s", c.warning);
  porta_config_free(&c);

  CHECK(&checks,
        porta_config_load(&c, DATA "/config_roberta/config.json", err, sizeof(err)) == PORTA_OK,
        "%s", err);
  print_config("tiny roberta", &c);
  CHECK(&checks,
        strcmp(c.model_type, "roberta") == 0 && c.hidden_size == 24 && c.num_attention_heads == 3 &&
            c.pad_token_id == 1 && c.type_vocab_size == 1 && c.max_position_embeddings == 34 &&
            strcmp(c.architecture, "RobertaForSequenceClassification") == 0,
        "roberta fields");
  porta_config_free(&c);

  if (access(DATA "/config_minilm.json", R_OK) == 0) {
    CHECK(&checks, porta_config_load(&c, DATA "/config_minilm.json", err, sizeof(err)) == PORTA_OK,
          "%s", err);
    print_config("all-MiniLM-L6-v2", &c);
    CHECK(&checks,
          c.hidden_size == 384 && c.num_hidden_layers == 6 && c.num_attention_heads == 12 &&
              c.intermediate_size == 1536 && c.vocab_size == 30522 && c.num_labels == 0 &&
              strcmp(c.architecture, "BertModel") == 0,
          "minilm fields");
    porta_config_free(&c);
  }

  CHECK(&checks, porta_config_load(&c, DATA "/config_distilbert", err, sizeof(err)) == PORTA_OK,
        "%s", err);
  print_config("tiny distilbert", &c);
  CHECK(&checks,
        strcmp(c.model_type, "distilbert") == 0 && c.hidden_size == 32 &&
            c.num_hidden_layers == 2 && c.num_attention_heads == 4 && c.intermediate_size == 64 &&
            c.type_vocab_size == 0 && c.max_position_embeddings == 40 &&
            c.classifier_dropout == 0.2f,
        "distilbert mapping");
  porta_config_free(&c);

  CHECK(&checks,
        porta_config_load(&c, DATA "/config_noarch_type.json", err, sizeof(err)) == PORTA_OK, "%s",
        err);
  printf("no model_type: type=%s warning: %s\n", c.model_type, c.warning);
  CHECK(&checks, strcmp(c.model_type, "bert") == 0 && strstr(c.warning, "architectures") != NULL,
        "architectures fallback");
  porta_config_free(&c);
}

static void write_text(const char *path, const char *text) {
  FILE *fp = fopen(path, "w");
  if (fp) {
    fputs(text, fp);
    fclose(fp);
  }
}

static void test_errors(const char *tmp) {
  static const struct {
    const char *json;
    porta_status status;
    const char *words;
  } cases[] = {
      {"{\"model_type\": \"bert\", \"num_hidden_layers\": 2, \"num_attention_heads\": 2, "
       "\"intermediate_size\": 8, \"vocab_size\": 10}",
       PORTA_ERR_FORMAT, "required field \"hidden_size\" is missing"},
      {"{\"model_type\": \"gpt2\", \"n_embd\": 8}", PORTA_ERR_FORMAT,
       "unsupported model_type \"gpt2\""},
      {"{\"model_type\": \"bert\", \"hidden_size\": 16,", PORTA_ERR_FORMAT, "not a JSON object"},
      {"[1, 2]", PORTA_ERR_FORMAT, "not a JSON object"},
      {"{\"model_type\": \"bert\", \"hidden_size\": 10, \"num_hidden_layers\": 2, "
       "\"num_attention_heads\": 4, \"intermediate_size\": 8, \"vocab_size\": 10}",
       PORTA_ERR_FORMAT, "hidden_size 10 is not a multiple of num_attention_heads 4"},
      {"{\"model_type\": \"bert\", \"hidden_size\": 8.5, \"num_hidden_layers\": 2, "
       "\"num_attention_heads\": 4, \"intermediate_size\": 8, \"vocab_size\": 10}",
       PORTA_ERR_FORMAT, "\"hidden_size\" is not an integer"},
      {"{\"model_type\": \"bert\", \"hidden_size\": 8, \"num_hidden_layers\": 0, "
       "\"num_attention_heads\": 4, \"intermediate_size\": 8, \"vocab_size\": 10}",
       PORTA_ERR_FORMAT, "num_hidden_layers is 0"},
      {"{\"model_type\": \"bert\", \"hidden_size\": 8, \"num_hidden_layers\": 1, "
       "\"num_attention_heads\": 4, \"intermediate_size\": 8, \"vocab_size\": 10, "
       "\"position_embedding_type\": \"relative_key\"}",
       PORTA_ERR_FORMAT, "position_embedding_type \"relative_key\" is not supported"},
      {"{\"model_type\": \"bert\", \"hidden_size\": 8, \"num_hidden_layers\": 1, "
       "\"num_attention_heads\": 4, \"intermediate_size\": 8, \"vocab_size\": 10, "
       "\"id2label\": {\"0\": \"a\", \"2\": \"b\"}}",
       PORTA_ERR_FORMAT, "id2label key \"2\""},
      {"{\"model_type\": 7}", PORTA_ERR_FORMAT, "\"model_type\" is not a string"},
      {"{\"vocab_size\": 7}", PORTA_ERR_FORMAT, "\"model_type\" is missing"},
      {"{\"architectures\": [\"GPT2LMHeadModel\"], \"n_embd\": 8}", PORTA_ERR_FORMAT,
       "architecture GPT2LMHeadModel is not one porta supports"},
      {"{\"model_type\": \"distilbert\", \"dim\": 8, \"n_layers\": 1, \"n_heads\": 2, "
       "\"hidden_dim\": 8, \"vocab_size\": 10, \"sinusoidal_pos_embds\": true}",
       PORTA_ERR_FORMAT, "sinusoidal_pos_embds"},
      {"{\"model_type\": \"bert\", \"hidden_size\": 8, \"num_hidden_layers\": 1, "
       "\"num_attention_heads\": 4, \"intermediate_size\": 8, \"vocab_size\": 10, "
       "\"pad_token_id\": 10}",
       PORTA_ERR_FORMAT, "pad_token_id 10 is outside the vocabulary"},
  };
  char err[512], path[1100];
  snprintf(path, sizeof(path), "%s/config.json", tmp);
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    write_text(path, cases[c].json);
    porta_model_config cfg;
    err[0] = '\0';
    porta_status s = porta_config_load(&cfg, tmp, err, sizeof(err));
    printf("bad config %2zu -> %s: %s\n", c, porta_status_string(s),
           strstr(err, "config.json") ? strstr(err, "config.json") : err);
    CHECK(&checks, s == cases[c].status, "case %zu: status %d, expected %d", c, s, cases[c].status);
    CHECK(&checks, strstr(err, cases[c].words) != NULL, "case %zu: message lacks \"%s\"", c,
          cases[c].words);
    if (s == PORTA_OK) porta_config_free(&cfg);
  }
  porta_model_config cfg;
  CHECK(&checks,
        porta_config_load(&cfg, "/nonexistent/config.json", err, sizeof(err)) ==
            PORTA_ERR_NOT_FOUND,
        "missing file");
  // Old BERT configs (rxnfp's) have neither model_type nor architectures: BERT with a warning.
  write_text(path, "{\"hidden_size\": 8, \"num_hidden_layers\": 1, \"num_attention_heads\": 2, "
                   "\"intermediate_size\": 16, \"vocab_size\": 20, \"type_vocab_size\": 2}");
  CHECK(&checks,
        porta_config_load(&cfg, tmp, err, sizeof(err)) == PORTA_OK &&
            strcmp(cfg.model_type, "bert") == 0 && cfg.warning[0] != '\0',
        "keys-only config: %s", err);
  printf("keys only: warning: %s\n", cfg.warning);
  porta_config_free(&cfg);
  write_text(path, "{\"architectures\": [\"RobertaModel\"], \"hidden_size\": 8, "
                   "\"num_hidden_layers\": 1, \"num_attention_heads\": 2, "
                   "\"intermediate_size\": 16, \"vocab_size\": 20}");
  CHECK(&checks,
        porta_config_load(&cfg, tmp, err, sizeof(err)) == PORTA_OK &&
            strcmp(cfg.model_type, "roberta") == 0 && cfg.pad_token_id == 1 &&
            strstr(cfg.warning, "RobertaModel") != NULL,
        "RobertaModel fallback: %s", err);
  printf("RobertaModel: type=%s pad=%lld warning: %s\n", cfg.model_type,
         (long long)cfg.pad_token_id, cfg.warning);
  porta_config_free(&cfg);
}

static bool configs_equal(const porta_model_config *a, const porta_model_config *b) {
  bool eq =
      strcmp(a->model_type, b->model_type) == 0 && strcmp(a->architecture, b->architecture) == 0 &&
      a->hidden_size == b->hidden_size && a->num_hidden_layers == b->num_hidden_layers &&
      a->num_attention_heads == b->num_attention_heads &&
      a->intermediate_size == b->intermediate_size && strcmp(a->hidden_act, b->hidden_act) == 0 &&
      a->layer_norm_eps == b->layer_norm_eps &&
      a->max_position_embeddings == b->max_position_embeddings &&
      a->type_vocab_size == b->type_vocab_size && a->vocab_size == b->vocab_size &&
      a->pad_token_id == b->pad_token_id && a->hidden_dropout_prob == b->hidden_dropout_prob &&
      a->attention_probs_dropout_prob == b->attention_probs_dropout_prob &&
      a->classifier_dropout == b->classifier_dropout &&
      strcmp(a->position_embedding_type, b->position_embedding_type) == 0 &&
      a->num_labels == b->num_labels;
  for (int i = 0; eq && i < a->num_labels; i++) eq = strcmp(a->id2label[i], b->id2label[i]) == 0;
  return eq;
}

static void test_save_reload(const char *tmp) {
  char err[512], path[1100];
  const char *sources[] = {DATA "/config_bert", DATA "/config_roberta", DATA "/config_distilbert"};
  for (int k = 0; k < 3; k++) {
    porta_model_config a, b;
    CHECK(&checks, porta_config_load(&a, sources[k], err, sizeof(err)) == PORTA_OK, "%s", err);
    CHECK(&checks,
          porta_config_save(&a, tmp, "{\"problem_type\": \"single_label_classification\"}", err,
                            sizeof(err)) == PORTA_OK,
          "save: %s", err);
    CHECK(&checks, porta_config_load(&b, tmp, err, sizeof(err)) == PORTA_OK, "reload: %s", err);
    CHECK(&checks, configs_equal(&a, &b), "%s: reload differs", sources[k]);
    porta_config_free(&a);
    porta_config_free(&b);
    // The source's other keys and the extra key are in the file.
    snprintf(path, sizeof(path), "%s/config.json", tmp);
    FILE *fp = fopen(path, "r");
    char text[8192] = "";
    if (fp) {
      size_t n = fread(text, 1, sizeof(text) - 1, fp);
      text[n] = '\0';
      fclose(fp);
    }
    CHECK(&checks,
          strstr(text, "\"initializer_range\"") != NULL && strstr(text, "problem_type") != NULL,
          "other keys lost");
    CHECK(&checks, strstr(text, "0.100000001") == NULL, "float noise in %s", text);
    printf("save/reload %s: equal, other keys kept\n", strrchr(sources[k], '/') + 1);
  }
  // A config made from defaults, with new labels, saved and reloaded.
  porta_model_config a, b, c;
  CHECK(&checks, porta_config_init(&a, "roberta", err, sizeof(err)) == PORTA_OK, "%s", err);
  a.hidden_size = 64;
  a.num_attention_heads = 4;
  snprintf(a.architecture, sizeof(a.architecture), "RobertaForSequenceClassification");
  const char *names[2] = {"not_sarcastic", "sarcastic"};
  CHECK(&checks, porta_config_set_labels(&a, 2, names, err, sizeof(err)) == PORTA_OK, "%s", err);
  CHECK(&checks, porta_config_copy(&c, &a, err, sizeof(err)) == PORTA_OK, "%s", err);
  snprintf(path, sizeof(path), "%s/fresh.json", tmp);
  CHECK(&checks, porta_config_save(&c, path, NULL, err, sizeof(err)) == PORTA_OK, "%s", err);
  CHECK(&checks, porta_config_load(&b, path, err, sizeof(err)) == PORTA_OK, "%s", err);
  CHECK(&checks, configs_equal(&a, &b), "fresh config differs after reload");
  CHECK(&checks, b.num_labels == 2 && strcmp(b.id2label[1], "sarcastic") == 0,
        "labels after reload");
  print_config("fresh roberta", &b);
  porta_config_free(&a);
  porta_config_free(&b);
  porta_config_free(&c);
  CHECK(&checks, porta_config_init(&a, "gpt2", err, sizeof(err)) == PORTA_ERR_INVALID_ARGUMENT,
        "gpt2 init");
  // Invalid configs are not written.
  CHECK(&checks, porta_config_init(&a, "bert", err, sizeof(err)) == PORTA_OK, "%s", err);
  a.num_attention_heads = 7;
  CHECK(&checks, porta_config_save(&a, path, NULL, err, sizeof(err)) == PORTA_ERR_FORMAT,
        "saved invalid");
  porta_config_free(&a);
}

int main(void) {
  char tmp[] = PORTA_BINARY_DIR "/test_config-XXXXXX";
  if (mkdtemp(tmp) == NULL) {
    perror("mkdtemp");
    return 1;
  }
  test_known_configs();
  test_errors(tmp);
  test_save_reload(tmp);
  char cmd[1200];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
  return check_finish(&checks);
}
