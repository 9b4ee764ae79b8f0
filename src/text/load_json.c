/* tokenizer.json (the `tokenizers` crate's file): model (WordPiece or BPE), normalizer,
 * pre-tokenizer, post-processor and added tokens. Its truncation and padding are ignored: the
 * caller's max_length and dynamic padding decide. Types porta does not implement are refused with
 * PORTA_ERR_UNSUPPORTED naming them, never silently tokenized another way. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "text/text_internal.h"

#define WHAT "tokenizer.json"

static bool json_bool(const cJSON *obj, const char *key, bool fallback) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (cJSON_IsBool(v)) return cJSON_IsTrue(v);
  return fallback;
}

static const char *json_type(const cJSON *obj) {
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "type");
  return cJSON_IsString(t) ? t->valuestring : "";
}

static bool json_id(const cJSON *v, int32_t *id) {
  if (!cJSON_IsNumber(v)) return false;
  double d = v->valuedouble;
  if (!(d >= 0 && d < PORTA_TOKENIZER_MAX_ID) || floor(d) != d) return false;
  *id = (int32_t)d;
  return true;
}

static porta_status load_vocab_object(porta_tokenizer *tok, const cJSON *vocab, char *err,
                                      size_t err_size) {
  if (!cJSON_IsObject(vocab))
    return text_fail(err, err_size, PORTA_ERR_FORMAT, WHAT ": model.vocab is not an object");
  const cJSON *item;
  cJSON_ArrayForEach(item, vocab) {
    int32_t id;
    if (!json_id(item, &id))
      return text_fail(err, err_size, PORTA_ERR_FORMAT,
                       WHAT ": model.vocab[\"%.64s\"] is not an id in [0, %d)", item->string,
                       PORTA_TOKENIZER_MAX_ID);
    porta_status st = text_vocab_set(&tok->vocab, item->string, strlen(item->string), id);
    if (st) return text_fail(err, err_size, st, WHAT ": cannot store the vocabulary");
  }
  return PORTA_OK;
}

static porta_status load_merges_array(porta_tokenizer *tok, const cJSON *merges, char *err,
                                      size_t err_size) {
  if (!cJSON_IsArray(merges))
    return text_fail(err, err_size, PORTA_ERR_FORMAT, WHAT ": model.merges is not an array");
  int rank = 0;
  const cJSON *m;
  cJSON_ArrayForEach(m, merges) {
    const char *left, *right;
    size_t left_len, right_len;
    if (cJSON_IsString(m)) { /* "a b" */
      const char *s = m->valuestring;
      const char *space = strchr(s, ' ');
      if (!space || strchr(space + 1, ' '))
        return text_fail(err, err_size, PORTA_ERR_FORMAT,
                         WHAT ": merge %d \"%.64s\" is not two tokens separated by a space", rank,
                         s);
      left = s;
      left_len = (size_t)(space - s);
      right = space + 1;
      right_len = strlen(right);
    } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 &&
               cJSON_IsString(cJSON_GetArrayItem(m, 0)) &&
               cJSON_IsString(cJSON_GetArrayItem(m, 1))) {
      left = cJSON_GetArrayItem(m, 0)->valuestring; /* ["a", "b"] */
      right = cJSON_GetArrayItem(m, 1)->valuestring;
      left_len = strlen(left);
      right_len = strlen(right);
    } else {
      return text_fail(err, err_size, PORTA_ERR_FORMAT,
                       WHAT ": merge %d is neither \"a b\" nor [\"a\", \"b\"]", rank);
    }
    porta_status st =
        text_add_merge(tok, left, left_len, right, right_len, rank, WHAT, err, err_size);
    if (st) return st;
    rank++;
  }
  return PORTA_OK;
}

static porta_status load_model(porta_tokenizer *tok, const cJSON *model, char *unk_name,
                               size_t unk_name_size, char *err, size_t err_size) {
  if (!cJSON_IsObject(model))
    return text_fail(err, err_size, PORTA_ERR_FORMAT, WHAT ": no \"model\" object");
  const char *type = json_type(model);
  const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
  if (!*type) type = merges ? "BPE" : "WordPiece"; /* files older than the "type" field */
  const cJSON *unk = cJSON_GetObjectItemCaseSensitive(model, "unk_token");
  snprintf(unk_name, unk_name_size, "%s", cJSON_IsString(unk) ? unk->valuestring : "");
  porta_status st =
      load_vocab_object(tok, cJSON_GetObjectItemCaseSensitive(model, "vocab"), err, err_size);
  if (st) return st;
  if (strcmp(type, "WordPiece") == 0) {
    tok->kind = PORTA_TOKENIZER_WORDPIECE;
    const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(model, "continuing_subword_prefix");
    if (cJSON_IsString(prefix)) {
      if (strlen(prefix->valuestring) >= sizeof(tok->continuing_prefix))
        return text_fail(err, err_size, PORTA_ERR_FORMAT,
                         WHAT ": continuing_subword_prefix \"%.32s\" is too long",
                         prefix->valuestring);
      snprintf(tok->continuing_prefix, sizeof(tok->continuing_prefix), "%s", prefix->valuestring);
    }
    const cJSON *max_chars = cJSON_GetObjectItemCaseSensitive(model, "max_input_chars_per_word");
    if (cJSON_IsNumber(max_chars) && max_chars->valuedouble >= 0 && max_chars->valuedouble < 1e9)
      tok->max_input_chars_per_word = (int)max_chars->valuedouble;
    if (!*unk_name) snprintf(unk_name, unk_name_size, "[UNK]");
    return PORTA_OK;
  }
  if (strcmp(type, "BPE") == 0) {
    tok->kind = PORTA_TOKENIZER_BPE;
    const char *fixes[] = {"continuing_subword_prefix", "end_of_word_suffix"};
    for (int k = 0; k < 2; k++) {
      const cJSON *v = cJSON_GetObjectItemCaseSensitive(model, fixes[k]);
      if (cJSON_IsString(v) && v->valuestring[0])
        return text_fail(err, err_size, PORTA_ERR_UNSUPPORTED,
                         WHAT ": BPE with %s \"%.32s\" is not supported (byte-level BPE only)",
                         fixes[k], v->valuestring);
    }
    if (json_bool(model, "byte_fallback", false))
      return text_fail(err, err_size, PORTA_ERR_UNSUPPORTED,
                       WHAT ": BPE with byte_fallback is not supported (byte-level BPE only)");
    const cJSON *dropout = cJSON_GetObjectItemCaseSensitive(model, "dropout");
    if (cJSON_IsNumber(dropout) && dropout->valuedouble > 0)
      return text_fail(err, err_size, PORTA_ERR_UNSUPPORTED,
                       WHAT ": BPE dropout %g is not supported", dropout->valuedouble);
    tok->ignore_merges = json_bool(model, "ignore_merges", false);
    return load_merges_array(tok, merges, err, err_size);
  }
  return text_fail(err, err_size, PORTA_ERR_UNSUPPORTED,
                   WHAT ": model type \"%.32s\" is not supported (WordPiece and BPE are)", type);
}

static porta_status load_normalizer(porta_tokenizer *tok, const cJSON *norm, char *err,
                                    size_t err_size) {
  if (!norm || cJSON_IsNull(norm)) {
    tok->clean_text = tok->handle_chinese_chars = tok->lowercase = false;
    tok->strip_accents_option = 0;
    return PORTA_OK;
  }
  const char *type = json_type(norm);
  if (tok->kind == PORTA_TOKENIZER_WORDPIECE && strcmp(type, "BertNormalizer") == 0) {
    tok->clean_text = json_bool(norm, "clean_text", true);
    tok->handle_chinese_chars = json_bool(norm, "handle_chinese_chars", true);
    tok->lowercase = json_bool(norm, "lowercase", true);
    const cJSON *strip = cJSON_GetObjectItemCaseSensitive(norm, "strip_accents");
    tok->strip_accents_option = cJSON_IsBool(strip) ? cJSON_IsTrue(strip) : -1;
    return PORTA_OK;
  }
  return text_fail(err, err_size, PORTA_ERR_UNSUPPORTED,
                   WHAT ": normalizer \"%.32s\" is not supported for %s", type,
                   tok->kind == PORTA_TOKENIZER_WORDPIECE ? "WordPiece (BertNormalizer is)"
                                                          : "BPE (none is)");
}

static porta_status load_pre_tokenizer(porta_tokenizer *tok, const cJSON *pre, char *err,
                                       size_t err_size) {
  const char *type = (!pre || cJSON_IsNull(pre)) ? "" : json_type(pre);
  if (tok->kind == PORTA_TOKENIZER_WORDPIECE) {
    if (!*type || strcmp(type, "BertPreTokenizer") == 0) return PORTA_OK;
  } else if (strcmp(type, "ByteLevel") == 0) {
    tok->add_prefix_space = json_bool(pre, "add_prefix_space", false);
    tok->use_regex = json_bool(pre, "use_regex", true);
    return PORTA_OK;
  }
  return text_fail(err, err_size, PORTA_ERR_UNSUPPORTED,
                   WHAT ": pre_tokenizer \"%.32s\" is not supported for %s", type,
                   tok->kind == PORTA_TOKENIZER_WORDPIECE ? "WordPiece (BertPreTokenizer is)"
                                                          : "BPE (ByteLevel is)");
}

/* ["[CLS]", 101] of BertProcessing / RobertaProcessing */
static bool pair_id(const cJSON *pair, int32_t *id) {
  return cJSON_IsArray(pair) && cJSON_GetArraySize(pair) == 2 &&
         json_id(cJSON_GetArrayItem(pair, 1), id);
}

static porta_status load_post_processor(porta_tokenizer *tok, const cJSON *post, char *err,
                                        size_t err_size) {
  const char *type = (!post || cJSON_IsNull(post)) ? "" : json_type(post);
  if (!*type || strcmp(type, "ByteLevel") == 0) return PORTA_OK; /* the class's defaults */
  if (strcmp(type, "BertProcessing") == 0 || strcmp(type, "RobertaProcessing") == 0) {
    int32_t cls, sep;
    if (!pair_id(cJSON_GetObjectItemCaseSensitive(post, "cls"), &cls) ||
        !pair_id(cJSON_GetObjectItemCaseSensitive(post, "sep"), &sep))
      return text_fail(err, err_size, PORTA_ERR_FORMAT,
                       WHAT ": post_processor %s needs \"cls\" and \"sep\" as [token, id]", type);
    tok->prefix_ids[0] = cls;
    tok->suffix_ids[0] = sep;
    tok->n_prefix = tok->n_suffix = 1;
    tok->post_processor_set = true;
    return PORTA_OK;
  }
  if (strcmp(type, "TemplateProcessing") == 0) {
    const cJSON *single = cJSON_GetObjectItemCaseSensitive(post, "single");
    const cJSON *specials = cJSON_GetObjectItemCaseSensitive(post, "special_tokens");
    if (!cJSON_IsArray(single))
      return text_fail(err, err_size, PORTA_ERR_FORMAT,
                       WHAT ": TemplateProcessing has no \"single\"");
    bool seen_sequence = false;
    const cJSON *piece;
    cJSON_ArrayForEach(piece, single) {
      if (cJSON_GetObjectItemCaseSensitive(piece, "Sequence")) {
        seen_sequence = true;
        continue;
      }
      const cJSON *sp = cJSON_GetObjectItemCaseSensitive(piece, "SpecialToken");
      const cJSON *name = cJSON_GetObjectItemCaseSensitive(sp, "id");
      if (!cJSON_IsString(name))
        return text_fail(err, err_size, PORTA_ERR_FORMAT,
                         WHAT ": TemplateProcessing piece is neither Sequence nor SpecialToken");
      const cJSON *entry = cJSON_GetObjectItemCaseSensitive(specials, name->valuestring);
      const cJSON *ids = cJSON_GetObjectItemCaseSensitive(entry, "ids");
      if (!cJSON_IsArray(ids))
        return text_fail(err, err_size, PORTA_ERR_FORMAT,
                         WHAT ": TemplateProcessing special token \"%.32s\" has no ids",
                         name->valuestring);
      const cJSON *idv;
      cJSON_ArrayForEach(idv, ids) {
        int32_t id;
        int *n = seen_sequence ? &tok->n_suffix : &tok->n_prefix;
        if (!json_id(idv, &id) || *n >= 4)
          return text_fail(err, err_size, PORTA_ERR_FORMAT,
                           WHAT
                           ": TemplateProcessing special token \"%.32s\": bad id or more than 4 "
                           "specials on one side",
                           name->valuestring);
        (seen_sequence ? tok->suffix_ids : tok->prefix_ids)[(*n)++] = id;
      }
    }
    tok->post_processor_set = true;
    return PORTA_OK;
  }
  return text_fail(err, err_size, PORTA_ERR_UNSUPPORTED,
                   WHAT ": post_processor \"%.32s\" is not supported", type);
}

static porta_status load_added_tokens(porta_tokenizer *tok, const cJSON *added, char *err,
                                      size_t err_size) {
  if (!added || cJSON_IsNull(added)) return PORTA_OK;
  if (!cJSON_IsArray(added))
    return text_fail(err, err_size, PORTA_ERR_FORMAT, WHAT ": added_tokens is not an array");
  const cJSON *a;
  cJSON_ArrayForEach(a, added) {
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(a, "content");
    int32_t id;
    if (!cJSON_IsString(content) || !json_id(cJSON_GetObjectItemCaseSensitive(a, "id"), &id))
      return text_fail(err, err_size, PORTA_ERR_FORMAT,
                       WHAT ": an added token lacks \"content\" or a valid \"id\"");
    text_added_token t = {
        .content = content->valuestring,
        .len = strlen(content->valuestring),
        .id = id,
        .lstrip = json_bool(a, "lstrip", false),
        .rstrip = json_bool(a, "rstrip", false),
        .single_word = json_bool(a, "single_word", false),
        .normalized = json_bool(a, "normalized", false),
        .special = json_bool(a, "special", false),
    };
    porta_status st = text_add_added_token(tok, &t, err, err_size);
    if (st) return st;
  }
  return PORTA_OK;
}

porta_status text_load_tokenizer_json(porta_tokenizer *tok, const char *data, size_t len,
                                      char *unk_name, size_t unk_name_size, char *err,
                                      size_t err_size) {
  cJSON *root = cJSON_ParseWithLength(data, len);
  if (!root || !cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return text_fail(err, err_size, PORTA_ERR_FORMAT, WHAT ": not a JSON object");
  }
  porta_status st = load_model(tok, cJSON_GetObjectItemCaseSensitive(root, "model"), unk_name,
                               unk_name_size, err, err_size);
  if (!st)
    st = load_normalizer(tok, cJSON_GetObjectItemCaseSensitive(root, "normalizer"), err, err_size);
  if (!st)
    st = load_pre_tokenizer(tok, cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer"), err,
                            err_size);
  if (!st)
    st = load_post_processor(tok, cJSON_GetObjectItemCaseSensitive(root, "post_processor"), err,
                             err_size);
  if (!st)
    st = load_added_tokens(tok, cJSON_GetObjectItemCaseSensitive(root, "added_tokens"), err,
                           err_size);
  cJSON_Delete(root);
  return st;
}
