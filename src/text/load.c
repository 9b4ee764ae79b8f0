/* Loading a tokenizer: the Hub folder's files (tokenizer_config.json, then tokenizer.json, else
 * vocab.txt or vocab.json + merges.txt), the special tokens, and the checks that make a
 * half-valid vocabulary an error at load time rather than wrong ids later. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "porta/text.h"
#include "core/errors.h"
#include "text/text_internal.h"

/* ---- pieces shared with load_json.c ------------------------------------------------------------
 */
porta_status text_add_merge(porta_tokenizer *tok, const char *left, size_t left_len,
                            const char *right, size_t right_len, int32_t rank, const char *what,
                            char *err, size_t err_size) {
  int32_t l = text_vocab_find(&tok->vocab, left, left_len);
  int32_t r = text_vocab_find(&tok->vocab, right, right_len);
  if (l < 0 || r < 0)
    return text_fail(err, err_size, PORTA_ERR_FORMAT,
                     "%s: merge %d \"%.*s %.*s\" uses a token missing from the vocabulary", what,
                     rank, (int)(left_len > 64 ? 64 : left_len), left,
                     (int)(right_len > 64 ? 64 : right_len), right);
  text_buf joined = {0};
  porta_status st = text_buf_append(&joined, left, left_len);
  if (!st) st = text_buf_append(&joined, right, right_len);
  if (st) {
    text_buf_free(&joined);
    return text_fail(err, err_size, st, "%s: out of memory", what);
  }
  int32_t merged = text_vocab_find(&tok->vocab, joined.data, joined.n);
  text_buf_free(&joined);
  if (merged < 0)
    return text_fail(err, err_size, PORTA_ERR_FORMAT,
                     "%s: merge %d \"%.*s %.*s\" makes a token missing from the vocabulary", what,
                     rank, (int)(left_len > 64 ? 64 : left_len), left,
                     (int)(right_len > 64 ? 64 : right_len), right);
  st = text_merges_add(&tok->merges, l, r, rank, merged);
  if (st) return text_fail(err, err_size, st, "%s: out of memory", what);
  return PORTA_OK;
}

porta_status text_add_added_token(porta_tokenizer *tok, const text_added_token *t, char *err,
                                  size_t err_size) {
  int32_t id = t->id >= 0 ? t->id : text_vocab_find(&tok->vocab, t->content, t->len);
  if (id < 0)
    return text_fail(err, err_size, PORTA_ERR_FORMAT,
                     "special token \"%.64s\" is not in the vocabulary", t->content);
  porta_status st = text_vocab_set(&tok->vocab, t->content, t->len, id);
  if (st) return text_fail(err, err_size, st, "cannot store added token \"%.64s\"", t->content);
  for (int k = 0; k < tok->n_added; k++) {
    text_added_token *a = &tok->added[k];
    if (a->len == t->len && memcmp(a->content, t->content, t->len) == 0) {
      char *content = a->content, *match = a->match;
      *a = *t;
      a->content = content;
      a->match = match;
      a->id = id;
      return PORTA_OK;
    }
  }
  text_added_token *grown = realloc(tok->added, (size_t)(tok->n_added + 1) * sizeof(*grown));
  if (!grown) return text_fail(err, err_size, PORTA_ERR_OUT_OF_MEMORY, "out of memory");
  tok->added = grown;
  char *content = malloc(t->len + 1);
  if (!content) return text_fail(err, err_size, PORTA_ERR_OUT_OF_MEMORY, "out of memory");
  memcpy(content, t->content, t->len);
  content[t->len] = '\0';
  tok->added[tok->n_added] = *t;
  tok->added[tok->n_added].content = content;
  tok->added[tok->n_added].match = NULL;
  tok->added[tok->n_added].id = id;
  tok->n_added++;
  return PORTA_OK;
}

/* ---- plain vocabulary files -------------------------------------------------------------------
 */
/* Calls fn on each line of data (without its \n and a trailing \r); stops at an error. */
typedef porta_status (*line_fn)(porta_tokenizer *tok, const char *line, size_t len, int index,
                                char *err, size_t err_size);

static porta_status for_each_line(porta_tokenizer *tok, const char *data, size_t len, line_fn fn,
                                  char *err, size_t err_size) {
  size_t start = 0;
  int index = 0;
  while (start < len) {
    const char *nl = memchr(data + start, '\n', len - start);
    size_t end = nl ? (size_t)(nl - data) : len;
    size_t line_len = end - start;
    if (line_len > 0 && data[start + line_len - 1] == '\r') line_len--;
    porta_status st = fn(tok, data + start, line_len, index++, err, err_size);
    if (st) return st;
    start = end + 1;
  }
  return PORTA_OK;
}

static porta_status vocab_txt_line(porta_tokenizer *tok, const char *line, size_t len, int index,
                                   char *err, size_t err_size) {
  if (index >= PORTA_TOKENIZER_MAX_ID)
    return text_fail(err, err_size, PORTA_ERR_LIMIT, "vocab.txt: more than %d lines",
                     PORTA_TOKENIZER_MAX_ID);
  porta_status st = text_vocab_set(&tok->vocab, line, len, index);
  if (st)
    return text_fail(err, err_size, st, "vocab.txt line %d: cannot store the token", index + 1);
  return PORTA_OK;
}

porta_status text_load_vocab_txt(porta_tokenizer *tok, const char *data, size_t len, char *err,
                                 size_t err_size) {
  porta_status st = for_each_line(tok, data, len, vocab_txt_line, err, err_size);
  if (st) return st;
  if (tok->vocab.n_ids == 0)
    return text_fail(err, err_size, PORTA_ERR_FORMAT, "vocab.txt is empty");
  return PORTA_OK;
}

porta_status text_load_vocab_json(porta_tokenizer *tok, const char *data, size_t len,
                                  const char *what, char *err, size_t err_size) {
  cJSON *root = cJSON_ParseWithLength(data, len);
  porta_status st = PORTA_OK;
  if (!cJSON_IsObject(root)) {
    st = text_fail(err, err_size, PORTA_ERR_FORMAT, "%s: not a JSON object of token -> id", what);
    goto done;
  }
  const cJSON *item;
  cJSON_ArrayForEach(item, root) {
    double d = cJSON_IsNumber(item) ? item->valuedouble : -1;
    if (!(d >= 0 && d < PORTA_TOKENIZER_MAX_ID) || floor(d) != d) {
      st = text_fail(err, err_size, PORTA_ERR_FORMAT, "%s: \"%.64s\" has no id in [0, %d)", what,
                     item->string, PORTA_TOKENIZER_MAX_ID);
      goto done;
    }
    st = text_vocab_set(&tok->vocab, item->string, strlen(item->string), (int32_t)d);
    if (st) {
      st = text_fail(err, err_size, st, "%s: cannot store the vocabulary", what);
      goto done;
    }
  }
  if (tok->vocab.n_ids == 0) st = text_fail(err, err_size, PORTA_ERR_FORMAT, "%s is empty", what);
done:
  cJSON_Delete(root);
  return st;
}

static porta_status merges_line(porta_tokenizer *tok, const char *line, size_t len, int index,
                                char *err, size_t err_size) {
  if (len == 0) return PORTA_OK;
  if (len >= 8 && memcmp(line, "#version", 8) == 0) return PORTA_OK;
  const char *space = memchr(line, ' ', len);
  if (!space || memchr(space + 1, ' ', len - (size_t)(space - line) - 1))
    return text_fail(err, err_size, PORTA_ERR_FORMAT,
                     "merges.txt line %d: expected two tokens separated by one space", index + 1);
  int32_t rank = tok->merges.count; /* the order of the lines, counting repeated ones once */
  char what[48];
  snprintf(what, sizeof(what), "merges.txt line %d", index + 1);
  return text_add_merge(tok, line, (size_t)(space - line), space + 1,
                        len - (size_t)(space - line) - 1, rank, what, err, err_size);
}

porta_status text_load_merges_txt(porta_tokenizer *tok, const char *data, size_t len, char *err,
                                  size_t err_size) {
  return for_each_line(tok, data, len, merges_line, err, err_size);
}

/* ---- tokenizer_config.json
 * ------------------------------------------------------------------------ */
enum {
  SPECIAL_UNK,
  SPECIAL_CLS,
  SPECIAL_SEP,
  SPECIAL_PAD,
  SPECIAL_MASK,
  SPECIAL_BOS,
  SPECIAL_EOS,
  N_SPECIAL
};
static const char *const special_keys[N_SPECIAL] = {
    "unk_token", "cls_token", "sep_token", "pad_token", "mask_token", "bos_token", "eos_token"};

typedef struct special_spec {
  char name[128];
  bool present;    /* named (by default or the config) */
  bool configured; /* the config has the key (null included) */
  bool explicit_flags;
  text_added_token flags;
} special_spec;

typedef struct tokenizer_config {
  int lowercase;     /* -1 unset */
  int strip_accents; /* -2 unset, -1 null, 0, 1 */
  int tokenize_chinese_chars;
  int add_prefix_space;
  int model_max_length; /* 0 unset */
  special_spec specials[N_SPECIAL];
} tokenizer_config;

static int json_tristate(const cJSON *obj, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsBool(v) ? cJSON_IsTrue(v) : -1;
}

static bool get_flag(const cJSON *obj, const char *key) {
  return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, key));
}

/* A special token value: "<mask>" or {"content": "<mask>", "lstrip": true, ...} or null. */
static void parse_special(special_spec *s, const cJSON *v) {
  s->configured = v != NULL;
  if (cJSON_IsString(v)) {
    snprintf(s->name, sizeof(s->name), "%s", v->valuestring);
    s->present = true;
    s->explicit_flags = false;
  } else if (cJSON_IsObject(v) && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(v, "content"))) {
    snprintf(s->name, sizeof(s->name), "%s",
             cJSON_GetObjectItemCaseSensitive(v, "content")->valuestring);
    s->present = true;
    s->explicit_flags = true;
    s->flags.lstrip = get_flag(v, "lstrip");
    s->flags.rstrip = get_flag(v, "rstrip");
    s->flags.single_word = get_flag(v, "single_word");
    s->flags.normalized = get_flag(v, "normalized");
  } else if (cJSON_IsNull(v)) {
    s->present = false;
  }
}

static porta_status parse_config(tokenizer_config *cfg, cJSON **decoder, const char *data,
                                 size_t len, char *err, size_t err_size) {
  cJSON *root = cJSON_ParseWithLength(data, len);
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return text_fail(err, err_size, PORTA_ERR_FORMAT, "tokenizer_config.json: not a JSON object");
  }
  cfg->lowercase = json_tristate(root, "do_lower_case");
  const cJSON *strip = cJSON_GetObjectItemCaseSensitive(root, "strip_accents");
  cfg->strip_accents = !strip ? -2 : cJSON_IsBool(strip) ? cJSON_IsTrue(strip) : -1;
  cfg->tokenize_chinese_chars = json_tristate(root, "tokenize_chinese_chars");
  cfg->add_prefix_space = json_tristate(root, "add_prefix_space");
  const cJSON *max_len = cJSON_GetObjectItemCaseSensitive(root, "model_max_length");
  if (cJSON_IsNumber(max_len)) {
    double d = max_len->valuedouble;
    cfg->model_max_length = (d >= 1 && d < (double)INT32_MAX) ? (int)d : INT32_MAX;
  }
  for (int k = 0; k < N_SPECIAL; k++)
    parse_special(&cfg->specials[k], cJSON_GetObjectItemCaseSensitive(root, special_keys[k]));
  *decoder = cJSON_DetachItemFromObjectCaseSensitive(root, "added_tokens_decoder");
  cJSON_Delete(root);
  return PORTA_OK;
}

/* added_tokens_decoder: {"0": {"content": "[PAD]", "special": true, ...}, ...} */
static porta_status load_added_tokens_decoder(porta_tokenizer *tok, const cJSON *decoder, char *err,
                                              size_t err_size) {
  if (!cJSON_IsObject(decoder)) return PORTA_OK;
  const cJSON *a;
  cJSON_ArrayForEach(a, decoder) {
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(a, "content");
    char *end = NULL;
    long id = strtol(a->string, &end, 10);
    if (!cJSON_IsString(content) || end == a->string || *end || id < 0 ||
        id >= PORTA_TOKENIZER_MAX_ID)
      return text_fail(err, err_size, PORTA_ERR_FORMAT,
                       "tokenizer_config.json: added_tokens_decoder[\"%.32s\"] is malformed",
                       a->string);
    text_added_token t = {.content = content->valuestring,
                          .len = strlen(content->valuestring),
                          .id = (int32_t)id,
                          .lstrip = get_flag(a, "lstrip"),
                          .rstrip = get_flag(a, "rstrip"),
                          .single_word = get_flag(a, "single_word"),
                          .normalized = get_flag(a, "normalized"),
                          .special = get_flag(a, "special")};
    porta_status st = text_add_added_token(tok, &t, err, err_size);
    if (st) return st;
  }
  return PORTA_OK;
}

/* ---- the loader
 * ------------------------------------------------------------------------------------ */
void porta_tokenizer_free(porta_tokenizer *tok) {
  if (!tok) return;
  text_vocab_free(&tok->vocab);
  text_merges_free(&tok->merges);
  text_bpe_cache_free(tok->cache);
  for (int k = 0; k < tok->n_added; k++) {
    free(tok->added[k].content);
    free(tok->added[k].match);
  }
  free(tok->added);
  free(tok);
}

static int32_t added_id(const porta_tokenizer *tok, const char *name) {
  for (int k = 0; k < tok->n_added; k++)
    if (strcmp(tok->added[k].content, name) == 0) return tok->added[k].id;
  return text_vocab_find(&tok->vocab, name, strlen(name));
}

static porta_status finish(porta_tokenizer *tok, tokenizer_config *cfg, const char *vocab_file,
                           const char *model_unk, char *err, size_t err_size) {
  bool wp = tok->kind == PORTA_TOKENIZER_WORDPIECE;
  /* The class defaults (BertTokenizer / RobertaTokenizer), then the config's names. */
  static const char *const wp_defaults[N_SPECIAL] = {"[UNK]",  "[CLS]", "[SEP]", "[PAD]",
                                                     "[MASK]", NULL,    NULL};
  static const char *const bpe_defaults[N_SPECIAL] = {"<unk>",  "<s>", "</s>", "<pad>",
                                                      "<mask>", "<s>", "</s>"};
  for (int k = 0; k < N_SPECIAL; k++) {
    special_spec *s = &cfg->specials[k];
    if (s->configured) continue; /* named (or nulled) by the config */
    const char *d = wp ? wp_defaults[k] : bpe_defaults[k];
    if (k == SPECIAL_UNK && model_unk && *model_unk) d = model_unk;
    if (d) {
      snprintf(s->name, sizeof(s->name), "%s", d);
      s->present = true;
    }
  }
  /* Special tokens split the text like added tokens. RoBERTa's <mask> takes the space before it. */
  int32_t *ids[N_SPECIAL] = {&tok->unk_id,  &tok->cls_id, &tok->sep_id, &tok->pad_id,
                             &tok->mask_id, &tok->bos_id, &tok->eos_id};
  for (int k = 0; k < N_SPECIAL; k++) {
    special_spec *s = &cfg->specials[k];
    *ids[k] = -1;
    if (!s->present) continue;
    int32_t id = added_id(tok, s->name);
    if (id < 0) {
      if (k == SPECIAL_UNK || k == SPECIAL_CLS || k == SPECIAL_SEP)
        return text_fail(err, err_size, PORTA_ERR_FORMAT, "%s has no %s \"%.64s\"", vocab_file,
                         special_keys[k], s->name);
      continue; /* an optional special token that this vocabulary lacks */
    }
    *ids[k] = id;
    bool known = false;
    for (int a = 0; a < tok->n_added; a++) known |= strcmp(tok->added[a].content, s->name) == 0;
    if (!known || s->explicit_flags) {
      text_added_token t = s->explicit_flags ? s->flags : (text_added_token){0};
      if (!s->explicit_flags && !wp && k == SPECIAL_MASK) t.lstrip = true;
      t.content = s->name;
      t.len = strlen(s->name);
      t.id = id;
      t.special = true;
      porta_status st = text_add_added_token(tok, &t, err, err_size);
      if (st) return st;
    }
  }
  if (!tok->post_processor_set) {
    tok->prefix_ids[0] = tok->cls_id;
    tok->suffix_ids[0] = tok->sep_id;
    tok->n_prefix = tok->n_suffix = 1;
  }
  /* Config settings win over tokenizer.json's, as in transformers. */
  if (cfg->lowercase >= 0) tok->lowercase = cfg->lowercase;
  if (cfg->strip_accents >= -1) tok->strip_accents_option = cfg->strip_accents;
  if (cfg->tokenize_chinese_chars >= 0) tok->handle_chinese_chars = cfg->tokenize_chinese_chars;
  if (cfg->add_prefix_space >= 0) tok->add_prefix_space = cfg->add_prefix_space;
  tok->strip_accents = tok->strip_accents_option < 0 ? tok->lowercase : tok->strip_accents_option;
  tok->model_max_length = cfg->model_max_length > 0 ? cfg->model_max_length : INT32_MAX;
  if (!wp) {
    for (int b = 0; b < 256; b++) {
      char u[4];
      int n = text_utf8_encode(u, text_byte_to_unicode(b));
      tok->byte_ids[b] = text_vocab_find(&tok->vocab, u, (size_t)n);
      if (tok->byte_ids[b] < 0 && tok->unk_id < 0)
        return text_fail(err, err_size, PORTA_ERR_FORMAT,
                         "%s lacks the byte-level symbol of byte 0x%02x and has no unknown token",
                         vocab_file, b);
    }
    porta_status st = text_bpe_cache_create(&tok->cache);
    if (st) return text_fail(err, err_size, st, "out of memory");
  }
  /* Normalized added tokens are matched in normalized text: normalize their content too. */
  for (int k = 0; k < tok->n_added && wp; k++) {
    text_added_token *a = &tok->added[k];
    if (!a->normalized) continue;
    text_buf norm = {0};
    char why[256] = "";
    porta_status st = text_wordpiece_normalize(tok, &norm, a->content, a->len, why, sizeof(why));
    if (st) {
      text_buf_free(&norm);
      return text_fail(err, err_size, st, "added token \"%.64s\": %s", a->content, why);
    }
    a->match = norm.data;
    a->match_len = norm.n;
  }
  tok->vocab_size = tok->vocab.n_ids;
  return PORTA_OK;
}

porta_status porta_tokenizer_load_memory(porta_tokenizer **out, const porta_tokenizer_files *files,
                                         char *err, size_t err_size) {
  if (err && err_size) err[0] = '\0';
  if (!out || !files)
    return text_fail(err, err_size, PORTA_ERR_INVALID_ARGUMENT,
                     "porta_tokenizer_load_memory: NULL out or files");
  *out = NULL;
  porta_tokenizer *tok = calloc(1, sizeof(*tok));
  if (!tok) return text_fail(err, err_size, PORTA_ERR_OUT_OF_MEMORY, "out of memory");
  tok->clean_text = tok->handle_chinese_chars = tok->lowercase =
      true; /* BertTokenizer's defaults */
  tok->strip_accents_option = -1;
  snprintf(tok->continuing_prefix, sizeof(tok->continuing_prefix), "##");
  tok->max_input_chars_per_word = 100;
  tok->use_regex = true;

  tokenizer_config cfg = {
      .lowercase = -1, .strip_accents = -2, .tokenize_chinese_chars = -1, .add_prefix_space = -1};
  cJSON *decoder = NULL;
  char model_unk[128] = "";
  const char *vocab_file = NULL;
  porta_status st = PORTA_OK;
  if (files->tokenizer_config_json)
    st = parse_config(&cfg, &decoder, files->tokenizer_config_json,
                      files->tokenizer_config_json_len, err, err_size);
  if (st) goto fail;
  if (files->tokenizer_json) {
    vocab_file = "tokenizer.json";
    st = text_load_tokenizer_json(tok, files->tokenizer_json, files->tokenizer_json_len, model_unk,
                                  sizeof(model_unk), err, err_size);
  } else if (files->vocab_txt) {
    vocab_file = "vocab.txt";
    tok->kind = PORTA_TOKENIZER_WORDPIECE;
    st = text_load_vocab_txt(tok, files->vocab_txt, files->vocab_txt_len, err, err_size);
  } else if (files->vocab_json) {
    vocab_file = "vocab.json";
    tok->kind = PORTA_TOKENIZER_BPE;
    tok->lowercase = tok->clean_text = tok->handle_chinese_chars = false;
    if (!files->merges_txt) {
      st = text_fail(err, err_size, PORTA_ERR_NOT_FOUND,
                     "vocab.json needs merges.txt, which is missing");
      goto fail;
    }
    st = text_load_vocab_json(tok, files->vocab_json, files->vocab_json_len, "vocab.json", err,
                              err_size);
    if (!st)
      st = text_load_merges_txt(tok, files->merges_txt, files->merges_txt_len, err, err_size);
  } else {
    st = text_fail(
        err, err_size, PORTA_ERR_NOT_FOUND,
        "no tokenizer files: expected tokenizer.json, vocab.txt, or vocab.json + merges.txt");
  }
  if (!st) st = load_added_tokens_decoder(tok, decoder, err, err_size);
  if (!st) st = finish(tok, &cfg, vocab_file, model_unk, err, err_size);
  if (st) goto fail;
  cJSON_Delete(decoder);
  *out = tok;
  return PORTA_OK;
fail:
  cJSON_Delete(decoder);
  porta_tokenizer_free(tok);
  return st;
}

/* Reads dir/name into *data; a missing file leaves *data NULL and is not an error. */
static porta_status read_optional(char **data, size_t *len, const char *dir, const char *name,
                                  char *err, size_t err_size) {
  *data = NULL;
  *len = 0;
  char path[4096];
  if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
    return text_fail(err, err_size, PORTA_ERR_INVALID_ARGUMENT, "path too long: %s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) {
    if (errno == ENOENT) return PORTA_OK;
    return text_fail(err, err_size, PORTA_ERR_IO, "cannot open %s: %s", path, strerror(errno));
  }
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > (1L << 30)) {
    fclose(f);
    return text_fail(err, err_size, PORTA_ERR_IO, "%s is not a regular file under 1 GiB", path);
  }
  char *buf = malloc((size_t)sb.st_size + 1);
  if (!buf) {
    fclose(f);
    return text_fail(err, err_size, PORTA_ERR_OUT_OF_MEMORY, "out of memory reading %s", path);
  }
  size_t n = fread(buf, 1, (size_t)sb.st_size, f);
  bool bad = ferror(f);
  fclose(f);
  if (bad || n != (size_t)sb.st_size) {
    free(buf);
    return text_fail(err, err_size, PORTA_ERR_IO, "cannot read %s", path);
  }
  buf[n] = '\0';
  *data = buf;
  *len = n;
  return PORTA_OK;
}

porta_status porta_tokenizer_load(porta_tokenizer **out, const char *model_dir, char *err,
                                  size_t err_size) {
  if (err && err_size) err[0] = '\0';
  if (!out || !model_dir)
    return text_fail(err, err_size, PORTA_ERR_INVALID_ARGUMENT,
                     "porta_tokenizer_load: NULL argument");
  *out = NULL;
  struct stat sb;
  if (stat(model_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return text_fail(err, err_size, PORTA_ERR_NOT_FOUND, "tokenizer folder %s does not exist",
                     model_dir);
  static const char *const names[5] = {"tokenizer_config.json", "tokenizer.json", "vocab.txt",
                                       "vocab.json", "merges.txt"};
  char *data[5] = {0};
  size_t lens[5] = {0};
  porta_status st = PORTA_OK;
  for (int k = 0; k < 5 && !st; k++) {
    if (k >= 2 && data[1]) break; /* tokenizer.json has everything */
    if (k >= 3 && data[2]) break; /* vocab.txt: WordPiece */
    st = read_optional(&data[k], &lens[k], model_dir, names[k], err, err_size);
  }
  if (!st) {
    porta_tokenizer_files files = {data[0], lens[0], data[1], lens[1], data[2],
                                   lens[2], data[3], lens[3], data[4], lens[4]};
    st = porta_tokenizer_load_memory(out, &files, err, err_size);
    if (st && err && err_size) { /* name the folder too */
      char inner[512];
      snprintf(inner, sizeof(inner), "%s", err);
      snprintf(err, err_size, "%s: %s", model_dir, inner);
      porta_error_sanitize(err, err_size);
    }
  }
  for (int k = 0; k < 5; k++) free(data[k]);
  return st;
}
