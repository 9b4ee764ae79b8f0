/* Checkpoints that survive a crash: written to "<dir>.tmp", then swapped in by renames, so the
 * previous checkpoint stays loadable at every instant. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "train/train_internal.h"

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(path);
}

/* rm -rf path (a missing path is fine). */
bool porta_remove_tree(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) return errno == ENOENT;
  return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0;
}

static bool has_config(const char *dir) {
  char path[4200];
  struct stat st;
  porta_pathf(path, sizeof path, "%s/config.json", dir);
  return stat(path, &st) == 0;
}

porta_status porta_checkpoint_resolve(char *out, size_t out_size, const char *dir, char *err,
                                      size_t err_size) {
  if (has_config(dir)) {
    porta_pathf(out, out_size, "%s", dir);
    return PORTA_OK;
  }
  char old[4200];
  porta_pathf(old, sizeof old, "%s.old", dir);
  if (has_config(old)) { // a writer died between its two renames
    porta_pathf(out, out_size, "%s", old);
    return PORTA_OK;
  }
  return porta_train_fail(err, err_size, PORTA_ERR_NOT_FOUND,
                          "no checkpoint in %s (no config.json)", dir);
}

static porta_status save_state(const char *dir, const porta_train_state *s, char *err,
                               size_t err_size) {
  char path[4200], buf[1024];
  porta_pathf(path, sizeof path, "%s/trainer_state.json", dir);
  // 64-bit integers as strings: JSON numbers are doubles
  int n = snprintf(buf, sizeof buf,
                   "{\n  \"step\": %lld,\n  \"epoch\": %lld,\n  \"next_batch\": %lld,\n  "
                   "\"total_steps\": %lld,\n"
                   "  \"seed\": \"%llu\",\n  \"rng_stream\": \"%llu\",\n  \"best_f1\": %.17g,\n  "
                   "\"best_epoch\": %lld,\n"
                   "  \"last_loss\": %.9g\n}\n",
                   (long long)s->step, (long long)s->epoch, (long long)s->next_batch,
                   (long long)s->total_steps, (unsigned long long)s->seed,
                   (unsigned long long)s->rng_stream, s->best_f1, (long long)s->best_epoch,
                   s->last_loss);
  return porta_write_file_atomic(path, buf, (size_t)n, err, err_size);
}

porta_status porta_train_state_load(porta_train_state *out, const char *dir, char *err,
                                    size_t err_size) {
  memset(out, 0, sizeof *out);
  char path[4200];
  porta_pathf(path, sizeof path, "%s/trainer_state.json", dir);
  char *data;
  size_t size;
  porta_status st = porta_read_file(path, &data, &size, err, err_size);
  if (st != PORTA_OK) return st;
  cJSON *root = cJSON_ParseWithLength(data, size);
  free(data);
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return porta_train_fail(err, err_size, PORTA_ERR_FORMAT, "%s: not a JSON object", path);
  }
  // counters are non-negative; best_epoch is -1 before the first evaluation
  const char *ints[] = {"step", "epoch", "next_batch", "total_steps", "best_epoch"};
  int64_t *dst[] = {&out->step, &out->epoch, &out->next_batch, &out->total_steps, &out->best_epoch};
  for (int i = 0; i < 5; i++) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(root, ints[i]);
    st = v ? porta_json_int(dst[i], v, i == 4 ? -1 : 0, INT64_MAX, path, ints[i], err, err_size)
           : porta_train_fail(err, err_size, PORTA_ERR_FORMAT, "%s: missing number \"%s\"", path,
                              ints[i]);
    if (st != PORTA_OK) {
      cJSON_Delete(root);
      return st;
    }
  }
  const char *words[] = {"seed", "rng_stream"};
  uint64_t *word_dst[] = {&out->seed, &out->rng_stream};
  for (int i = 0; i < 2; i++) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(root, words[i]);
    char *end = NULL;
    if (cJSON_IsString(v)) *word_dst[i] = strtoull(v->valuestring, &end, 10);
    if (!cJSON_IsString(v) || end == v->valuestring || *end != '\0' || v->valuestring[0] == '-') {
      cJSON_Delete(root);
      return porta_train_fail(err, err_size, PORTA_ERR_FORMAT,
                              "%s: \"%s\" must be a string holding an unsigned integer", path,
                              words[i]);
    }
  }
  cJSON *best = cJSON_GetObjectItemCaseSensitive(root, "best_f1");
  out->best_f1 = cJSON_IsNumber(best) ? best->valuedouble : -1;
  cJSON *loss = cJSON_GetObjectItemCaseSensitive(root, "last_loss");
  out->last_loss = cJSON_IsNumber(loss) ? loss->valuedouble : 0;
  cJSON_Delete(root);
  return PORTA_OK;
}

/* optimizer.safetensors: "<param>.exp_avg" and "<param>.exp_avg_sq" for every stepped param. */
static porta_status save_optimizer(const char *dir, porta_optimizer *opt, const porta_param *params,
                                   int count, char *err, size_t err_size) {
  porta_named_array *arrays = calloc((size_t)(2 * count + 1), sizeof *arrays);
  char **names = calloc((size_t)(2 * count + 1), sizeof(char *));
  float **data = calloc((size_t)(2 * count + 1), sizeof(float *));
  porta_status st = (arrays && names && data) ? PORTA_OK : PORTA_ERR_OUT_OF_MEMORY;
  int n = 0;
  for (int i = 0; st == PORTA_OK && i < count; i++) {
    for (int slot = 0; slot < 2 && st == PORTA_OK; slot++) {
      porta_tensor *t = porta_optimizer_state(opt, i, slot);
      if (!t) continue;
      int64_t numel = porta_tensor_numel(t);
      size_t len = strlen(params[i].name) + 16;
      names[n] = malloc(len);
      data[n] = malloc((size_t)numel * sizeof(float));
      if (!names[n] || !data[n]) {
        st = PORTA_ERR_OUT_OF_MEMORY;
        n++;
        break;
      }
      snprintf(names[n], len, "%s.%s", params[i].name, slot ? "exp_avg_sq" : "exp_avg");
      st = porta_tensor_download(t, data[n], (size_t)numel);
      arrays[n].name = names[n];
      arrays[n].ndim = porta_tensor_ndim(t);
      for (int k = 0; k < arrays[n].ndim; k++) arrays[n].shape[k] = porta_tensor_dim(t, k);
      arrays[n].data = data[n];
      n++;
    }
  }
  if (st != PORTA_OK) {
    porta_train_fail(err, err_size, st, "saving the optimizer state to %s: %s", dir,
                     st == PORTA_ERR_OUT_OF_MEMORY ? "out of memory" : "download failed");
  } else if (n > 0) {
    char path[4200];
    porta_pathf(path, sizeof path, "%s/optimizer.safetensors", dir);
    st = porta_safetensors_write(path, arrays, n, "{\"format\": \"porta-adamw\"}", err, err_size);
  }
  for (int i = 0; i < n; i++) free(names[i]), free(data[i]);
  free(arrays), free(names), free(data);
  return st;
}

porta_status porta_checkpoint_save(const char *dir, const porta_model *model,
                                   const porta_head *head, const porta_label_map *labels,
                                   porta_optimizer *opt, const porta_param *params, int param_count,
                                   const porta_train_state *state, char *err, size_t err_size) {
  char tmp[4200], old[4200];
  porta_pathf(tmp, sizeof tmp, "%s.tmp", dir);
  porta_pathf(old, sizeof old, "%s.old", dir);
  // a .tmp left by a writer that was killed is garbage: the real checkpoint is dir (or .old)
  if (!porta_remove_tree(tmp))
    return porta_train_fail(err, err_size, PORTA_ERR_IO, "cannot remove the stale %s: %s", tmp,
                            strerror(errno));
  if (mkdir(tmp, 0755) != 0)
    return porta_train_fail(err, err_size, PORTA_ERR_IO, "cannot create %s: %s", tmp,
                            strerror(errno));
  porta_status st =
      porta_model_save(model, head, labels ? (const char *const *)labels->names : NULL, tmp);
  if (st != PORTA_OK)
    porta_train_fail(err, err_size, st, "saving the model to %s: %s", tmp,
                     porta_last_error(porta_model_context(model)));
  if (st == PORTA_OK && labels) {
    char path[4300];
    porta_pathf(path, sizeof path, "%s/labels.json", tmp);
    st = porta_label_map_save(labels, path, err, err_size);
  }
  if (st == PORTA_OK && state) st = save_state(tmp, state, err, err_size);
  if (st == PORTA_OK && opt) st = save_optimizer(tmp, opt, params, param_count, err, err_size);
  if (st != PORTA_OK) {
    porta_remove_tree(tmp);
    return st;
  }
  // swap: dir -> dir.old, dir.tmp -> dir, remove dir.old. Between the renames only .old exists,
  // and porta_checkpoint_resolve falls back to it.
  struct stat sb;
  bool had_final = stat(dir, &sb) == 0;
  if (had_final) {
    if (has_config(old) && !has_config(dir)) {
      // an earlier crash left only .old: keep it as the backup, drop the incomplete dir
      porta_remove_tree(dir);
      had_final = false;
    } else if (!porta_remove_tree(old) || rename(dir, old) != 0) {
      return porta_train_fail(err, err_size, PORTA_ERR_IO, "cannot move %s to %s: %s", dir, old,
                              strerror(errno));
    }
  }
  if (rename(tmp, dir) != 0)
    return porta_train_fail(err, err_size, PORTA_ERR_IO, "cannot rename %s to %s: %s", tmp, dir,
                            strerror(errno));
  // the renames are durable only once the folder holding them is synced (power loss)
  st = porta_fsync_parent(dir, err, err_size);
  porta_remove_tree(old);
  return st;
}

/* config.json's "porta_head" (written by porta_model_save), default cls. */
static porta_head_kind head_kind_of(const char *dir) {
  char path[4200];
  porta_pathf(path, sizeof path, "%s/config.json", dir);
  char *data;
  size_t size;
  porta_head_kind kind = PORTA_HEAD_CLS;
  if (porta_read_file(path, &data, &size, NULL, 0) != PORTA_OK) return kind;
  cJSON *root = cJSON_ParseWithLength(data, size);
  free(data);
  cJSON *name = root ? cJSON_GetObjectItemCaseSensitive(root, "porta_head") : NULL;
  if (cJSON_IsString(name)) porta_head_kind_parse(name->valuestring, &kind);
  cJSON_Delete(root);
  return kind;
}

porta_status porta_checkpoint_load(porta_model **model, porta_head **head, porta_label_map *labels,
                                   porta_context *ctx, const char *dir, char *err,
                                   size_t err_size) {
  *model = NULL;
  *head = NULL;
  memset(labels, 0, sizeof *labels);
  char real[4200];
  porta_status st = porta_checkpoint_resolve(real, sizeof real, dir, err, err_size);
  if (st != PORTA_OK) return st;
  st = porta_model_load(model, ctx, real);
  if (st != PORTA_OK) return porta_train_fail(err, err_size, st, "%s", porta_last_error(ctx));
  int num_labels = porta_model_classifier_labels(*model);
  if (num_labels <= 0) {
    porta_model_free(*model);
    *model = NULL;
    return porta_train_fail(
        err, err_size, PORTA_ERR_NOT_FOUND,
        "%s has no classifier (classifier.weight): train one with `porta train` first", real);
  }
  porta_head_options ho;
  porta_head_options_init(&ho);
  ho.kind = head_kind_of(real);
  ho.num_labels = num_labels;
  ho.from_checkpoint = true;
  st = porta_head_create(head, *model, &ho);
  if (st != PORTA_OK) {
    porta_train_fail(err, err_size, st, "%s", porta_last_error(ctx));
    porta_model_free(*model);
    *model = NULL;
    return st;
  }
  char path[4300];
  porta_pathf(path, sizeof path, "%s/labels.json", real);
  struct stat sb;
  if (stat(path, &sb) == 0) {
    // a labels.json that does not fit the classifier would name the predictions wrongly
    st = porta_label_map_load(labels, path, err, err_size);
    if (st == PORTA_OK && labels->count != num_labels)
      st = porta_train_fail(err, err_size, PORTA_ERR_SHAPE,
                            "%s lists %d labels, but the classifier of %s has %d rows; the "
                            "labels.json belongs to another checkpoint",
                            path, labels->count, real, num_labels);
    if (st == PORTA_OK) return PORTA_OK;
    porta_label_map_free(labels);
    porta_head_free(*head);
    porta_model_free(*model);
    *head = NULL;
    *model = NULL;
    return st;
  }
  // else config.json's id2label, else "0".."N-1"
  const porta_model_config *cfg = porta_model_get_config(*model);
  labels->names = calloc((size_t)num_labels, sizeof(char *));
  labels->count = num_labels;
  for (int i = 0; i < num_labels; i++) {
    char name[32];
    snprintf(name, sizeof name, "%d", i);
    bool named = cfg->num_labels == num_labels && cfg->id2label && cfg->id2label[i];
    labels->names[i] = strdup(named ? cfg->id2label[i] : name);
  }
  return PORTA_OK;
}

porta_status porta_optimizer_state_load(porta_optimizer *opt, const porta_param *params,
                                        int param_count, const char *dir,
                                        const porta_train_state *state, char *err,
                                        size_t err_size) {
  if (state->step == 0) return PORTA_OK; // nothing stepped yet
  char path[4200];
  porta_pathf(path, sizeof path, "%s/optimizer.safetensors", dir);
  porta_weights *w;
  porta_status st = porta_weights_open(&w, path, err, err_size);
  if (st != PORTA_OK) return st;
  porta_context *ctx = porta_tensor_context(params[0].tensor);
  porta_tensor **avg = calloc((size_t)param_count, sizeof *avg);
  porta_tensor **avg_sq = calloc((size_t)param_count, sizeof *avg_sq);
  float *host = NULL;
  st = (avg && avg_sq) ? PORTA_OK : PORTA_ERR_OUT_OF_MEMORY;
  for (int i = 0; st == PORTA_OK && i < param_count; i++) {
    porta_tensor *p = params[i].tensor;
    int64_t numel = porta_tensor_numel(p);
    int64_t shape[PORTA_MAX_DIMS];
    for (int k = 0; k < porta_tensor_ndim(p); k++) shape[k] = porta_tensor_dim(p, k);
    float *grown = realloc(host, (size_t)numel * sizeof(float));
    if (!grown) {
      st = PORTA_ERR_OUT_OF_MEMORY;
      break;
    }
    host = grown;
    for (int slot = 0; slot < 2 && st == PORTA_OK; slot++) {
      char name[1100];
      snprintf(name, sizeof name, "%s.%s", params[i].name, slot ? "exp_avg_sq" : "exp_avg");
      int index = porta_weights_find(w, name);
      if (index < 0) continue; // never stepped (no gradient reached it, e.g. an unused pooler)
      if (porta_weights_numel(w, index) != numel) {
        st = porta_train_fail(err, err_size, PORTA_ERR_FORMAT,
                              "%s: %s has %lld values, the parameter %lld", path, name,
                              (long long)porta_weights_numel(w, index), (long long)numel);
        break;
      }
      st = porta_weights_read_f32(w, index, host, (size_t)numel, err, err_size);
      if (st == PORTA_OK)
        st = porta_tensor_from_host(ctx, slot ? &avg_sq[i] : &avg[i], PORTA_F32,
                                    porta_tensor_ndim(p), shape, host);
    }
  }
  if (st == PORTA_OK) {
    st = porta_optimizer_load_state(opt, state->step, avg, avg_sq);
    if (st != PORTA_OK)
      porta_train_fail(err, err_size, st, "restoring %s: %s", path, porta_last_error(ctx));
  } else if (st == PORTA_ERR_OUT_OF_MEMORY) {
    porta_train_fail(err, err_size, st, "out of memory reading %s", path);
  }
  for (int i = 0; avg && avg_sq && i < param_count; i++)
    porta_tensor_free(avg[i]), porta_tensor_free(avg_sq[i]);
  free(avg), free(avg_sq), free(host);
  porta_weights_close(w);
  return st;
}
