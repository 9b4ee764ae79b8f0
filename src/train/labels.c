/* Label maps (id -> name), saved with runs and checkpoints as labels.json. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"

void porta_label_map_free(porta_label_map *map) {
  if (!map) return;
  for (int i = 0; i < map->count; i++) free(map->names[i]);
  free(map->names);
  map->names = NULL;
  map->count = 0;
}

porta_status porta_label_map_copy(porta_label_map *dst, const porta_label_map *src) {
  memset(dst, 0, sizeof *dst);
  dst->from_strings = src->from_strings;
  if (src->count == 0) return PORTA_OK;
  dst->names = calloc((size_t)src->count, sizeof(char *));
  if (!dst->names) return PORTA_ERR_OUT_OF_MEMORY;
  dst->count = src->count;
  for (int i = 0; i < src->count; i++) {
    dst->names[i] = strdup(src->names[i]);
    if (!dst->names[i]) {
      porta_label_map_free(dst);
      return PORTA_ERR_OUT_OF_MEMORY;
    }
  }
  return PORTA_OK;
}

int porta_label_map_find(const porta_label_map *map, const char *name) {
  for (int i = 0; i < map->count; i++)
    if (strcmp(map->names[i], name) == 0) return i;
  return -1;
}

porta_status porta_label_map_save(const porta_label_map *map, const char *path, char *err,
                                  size_t err_size) {
  cJSON *root = cJSON_CreateObject();
  cJSON_AddNumberToObject(root, "num_labels", map->count);
  cJSON_AddBoolToObject(root, "from_strings", map->from_strings);
  cJSON *id2label = cJSON_AddObjectToObject(root, "id2label");
  cJSON *label2id = cJSON_AddObjectToObject(root, "label2id");
  for (int i = 0; i < map->count; i++) {
    char key[32];
    snprintf(key, sizeof key, "%d", i);
    cJSON_AddStringToObject(id2label, key, map->names[i]);
    cJSON_AddNumberToObject(label2id, map->names[i], i);
  }
  char *text = cJSON_Print(root);
  cJSON_Delete(root);
  if (!text)
    return porta_train_fail(err, err_size, PORTA_ERR_OUT_OF_MEMORY, "out of memory writing %s",
                            path);
  porta_status st = porta_write_file_atomic(path, text, strlen(text), err, err_size);
  free(text);
  return st;
}

porta_status porta_label_map_load(porta_label_map *out, const char *path, char *err,
                                  size_t err_size) {
  memset(out, 0, sizeof *out);
  char *data;
  size_t size;
  porta_status st = porta_read_file(path, &data, &size, err, err_size);
  if (st != PORTA_OK) return st;
  cJSON *root = cJSON_ParseWithLength(data, size);
  free(data);
  cJSON *id2label = root ? cJSON_GetObjectItemCaseSensitive(root, "id2label") : NULL;
  if (!cJSON_IsObject(id2label)) {
    cJSON_Delete(root);
    return porta_train_fail(err, err_size, PORTA_ERR_FORMAT,
                            "%s: expected a JSON object with \"id2label\"", path);
  }
  int count = cJSON_GetArraySize(id2label);
  if (count <= 0 || count > PORTA_MAX_CLASSES) {
    cJSON_Delete(root);
    return porta_train_fail(err, err_size, PORTA_ERR_FORMAT, "%s: %d labels (expected 1..%d)", path,
                            count, PORTA_MAX_CLASSES);
  }
  out->names = calloc((size_t)count, sizeof(char *));
  out->count = count;
  out->from_strings = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "from_strings"));
  st = PORTA_OK;
  for (int i = 0; i < count && st == PORTA_OK; i++) {
    char key[32];
    snprintf(key, sizeof key, "%d", i);
    cJSON *name = cJSON_GetObjectItemCaseSensitive(id2label, key);
    if (!cJSON_IsString(name)) {
      st = porta_train_fail(err, err_size, PORTA_ERR_FORMAT, "%s: id2label has no string for id %d",
                            path, i);
    } else {
      out->names[i] = strdup(name->valuestring);
    }
  }
  cJSON_Delete(root);
  if (st != PORTA_OK) porta_label_map_free(out);
  return st;
}
