/* Train / valid / test split: stratified by label, identical texts kept together, seeded. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_internal.h"

const char *porta_split_name(int part) {
  switch (part) {
  case PORTA_SPLIT_TRAIN:
    return "train";
  case PORTA_SPLIT_VALID:
    return "valid";
  case PORTA_SPLIT_TEST:
    return "test";
  default:
    return "?";
  }
}

static int compare_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* group_of[row] = index of the first row with the same text (a group's id is its first row). */
static porta_status group_rows(const porta_dataset *ds, int64_t *group_of) {
  int64_t capacity = 16;
  while (capacity < ds->count * 2) capacity *= 2;
  int64_t *table = malloc((size_t)capacity * sizeof(int64_t)); // first row of each text, or -1
  if (!table) return PORTA_ERR_OUT_OF_MEMORY;
  for (int64_t i = 0; i < capacity; i++) table[i] = -1;
  for (int64_t row = 0; row < ds->count; row++) {
    uint64_t slot = porta_hash64(PORTA_HASH64_INIT, ds->texts[row], strlen(ds->texts[row])) &
                    (uint64_t)(capacity - 1);
    for (;;) {
      int64_t first = table[slot];
      if (first < 0) {
        table[slot] = row;
        group_of[row] = row;
        break;
      }
      if (strcmp(ds->texts[first], ds->texts[row]) == 0) {
        group_of[row] = first;
        break;
      }
      slot = (slot + 1) & (uint64_t)(capacity - 1);
    }
  }
  free(table);
  return PORTA_OK;
}

porta_status porta_split_make(porta_split *out, const porta_dataset *ds, double valid_fraction,
                              double test_fraction, uint64_t seed, char *err, size_t err_size) {
  memset(out, 0, sizeof *out);
  if (valid_fraction < 0 || test_fraction < 0 || valid_fraction + test_fraction >= 1.0)
    return porta_train_fail(
        err, err_size, PORTA_ERR_INVALID_ARGUMENT,
        "split fractions valid %g + test %g must be >= 0 and leave rows to train on",
        valid_fraction, test_fraction);
  out->seed = seed;
  out->valid_fraction = valid_fraction;
  out->test_fraction = test_fraction;
  int64_t n = ds->count;
  int64_t *group_of = malloc((size_t)(n ? n : 1) * sizeof(int64_t));
  int64_t *group_size = calloc((size_t)(n ? n : 1), sizeof(int64_t));
  int64_t *groups = malloc((size_t)(n ? n : 1) * sizeof(int64_t));
  int8_t *part_of_group = malloc((size_t)(n ? n : 1));
  for (int p = 0; p < 3; p++) out->rows[p] = malloc((size_t)(n ? n : 1) * sizeof(int64_t));
  porta_status st = PORTA_OK;
  if (!group_of || !group_size || !groups || !part_of_group || !out->rows[0] || !out->rows[1] ||
      !out->rows[2])
    st = PORTA_ERR_OUT_OF_MEMORY;
  if (st == PORTA_OK) st = group_rows(ds, group_of);
  if (st == PORTA_OK) {
    for (int64_t row = 0; row < n; row++) group_size[group_of[row]]++;
    porta_rng rng;
    porta_rng_seed(&rng, seed);
    // one stratum per label (a group's label is its first row's), -1 for unlabelled rows
    int max_label = ds->label_map.count > 0 ? ds->label_map.count : 0;
    for (int label = -1; label < max_label; label++) {
      int64_t num_groups = 0, rows_in_class = 0;
      for (int64_t row = 0; row < n; row++) {
        if (group_of[row] == row && ds->labels[row] == label) {
          groups[num_groups++] = row;
          rows_in_class += group_size[row];
        }
      }
      if (num_groups == 0) continue;
      porta_rng_shuffle_i64(&rng, groups, num_groups);
      int64_t want_test = llround((double)rows_in_class * test_fraction);
      int64_t want_valid = llround((double)rows_in_class * valid_fraction);
      int64_t have_test = 0, have_valid = 0;
      for (int64_t g = 0; g < num_groups; g++) {
        int64_t first = groups[g];
        if (have_test < want_test) {
          part_of_group[first] = PORTA_SPLIT_TEST;
          have_test += group_size[first];
        } else if (have_valid < want_valid) {
          part_of_group[first] = PORTA_SPLIT_VALID;
          have_valid += group_size[first];
        } else {
          part_of_group[first] = PORTA_SPLIT_TRAIN;
        }
      }
    }
    for (int64_t row = 0; row < n; row++) {
      int p = part_of_group[group_of[row]];
      out->rows[p][out->count[p]++] = row; // rows come in ascending order
    }
  }
  free(group_of);
  free(group_size);
  free(groups);
  free(part_of_group);
  if (st != PORTA_OK) {
    porta_split_free(out);
    return porta_train_fail(err, err_size, st, "out of memory splitting %lld rows", (long long)n);
  }
  return PORTA_OK;
}

void porta_split_free(porta_split *split) {
  for (int p = 0; p < 3; p++) {
    free(split->rows[p]);
    split->rows[p] = NULL;
    split->count[p] = 0;
  }
}

porta_status porta_split_save(const porta_split *split, const char *path, char *err,
                              size_t err_size) {
  // written by hand: cJSON's number arrays go through doubles and pretty printing is slow
  size_t capacity = 256 + (size_t)(split->count[0] + split->count[1] + split->count[2]) * 21;
  char *buf = malloc(capacity);
  if (!buf)
    return porta_train_fail(err, err_size, PORTA_ERR_OUT_OF_MEMORY, "out of memory writing %s",
                            path);
  size_t used = (size_t)snprintf(
      buf, capacity, "{\"seed\": \"%llu\", \"valid_fraction\": %.17g, \"test_fraction\": %.17g",
      (unsigned long long)split->seed, split->valid_fraction, split->test_fraction);
  for (int p = 0; p < 3; p++) {
    used += (size_t)snprintf(buf + used, capacity - used, ",\n\"%s\": [", porta_split_name(p));
    for (int64_t i = 0; i < split->count[p]; i++)
      used += (size_t)snprintf(buf + used, capacity - used, "%s%lld", i ? "," : "",
                               (long long)split->rows[p][i]);
    used += (size_t)snprintf(buf + used, capacity - used, "]");
  }
  used += (size_t)snprintf(buf + used, capacity - used, "}\n");
  porta_status st = porta_write_file_atomic(path, buf, used, err, err_size);
  free(buf);
  return st;
}

/* Row ids appear once across all three parts (a row in two parts would leak test rows into
 * training). Each part is sorted already. */
static porta_status check_distinct(const porta_split *split, const char *path, char *err,
                                   size_t err_size) {
  int64_t total = split->count[0] + split->count[1] + split->count[2];
  int64_t *all = malloc((size_t)(total ? total : 1) * sizeof(int64_t));
  if (!all) {
    return porta_train_fail(err, err_size, PORTA_ERR_OUT_OF_MEMORY, "out of memory reading %s",
                            path);
  }
  int64_t n = 0;
  for (int p = 0; p < 3; p++)
    for (int64_t i = 0; i < split->count[p]; i++) all[n++] = split->rows[p][i];
  qsort(all, (size_t)n, sizeof(int64_t), compare_i64);
  porta_status st = PORTA_OK;
  for (int64_t i = 1; i < n && st == PORTA_OK; i++) {
    if (all[i] != all[i - 1]) continue;
    // name the parts that hold it
    int first = -1, second = -1;
    for (int p = 0; p < 3; p++) {
      int hits = 0;
      for (int64_t k = 0; k < split->count[p]; k++) hits += split->rows[p][k] == all[i];
      if (hits > 0 && first < 0) first = p, hits--;
      if (hits > 0 && second < 0) second = p;
    }
    st = porta_train_fail(err, err_size, PORTA_ERR_FORMAT,
                          "%s: row %lld is listed twice (in \"%s\" and \"%s\")", path,
                          (long long)all[i], porta_split_name(first), porta_split_name(second));
  }
  free(all);
  return st;
}

porta_status porta_split_load(porta_split *out, const char *path, char *err, size_t err_size) {
  memset(out, 0, sizeof *out);
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
  // the seed is a string (64 bits exactly); a number is accepted from other tools
  cJSON *seed = cJSON_GetObjectItemCaseSensitive(root, "seed");
  if (cJSON_IsString(seed)) {
    char *end;
    out->seed = strtoull(seed->valuestring, &end, 10);
    if (end == seed->valuestring || *end != '\0' || seed->valuestring[0] == '-')
      st = porta_train_fail(err, err_size, PORTA_ERR_FORMAT,
                            "%s: \"seed\" is \"%.40s\", not an unsigned integer", path,
                            seed->valuestring);
  } else if (seed) {
    int64_t value = 0;
    st = porta_json_int(&value, seed, 0, INT64_MAX, path, "seed", err, err_size);
    out->seed = (uint64_t)value;
  }
  const char *fraction_names[2] = {"valid_fraction", "test_fraction"};
  double *fractions[2] = {&out->valid_fraction, &out->test_fraction};
  for (int k = 0; k < 2 && st == PORTA_OK; k++) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(root, fraction_names[k]);
    if (!v) continue;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble < 1))
      st = porta_train_fail(err, err_size, PORTA_ERR_FORMAT,
                            "%s: \"%s\" must be a number in [0, 1)", path, fraction_names[k]);
    else
      *fractions[k] = v->valuedouble;
  }
  for (int p = 0; p < 3 && st == PORTA_OK; p++) {
    cJSON *ids = cJSON_GetObjectItemCaseSensitive(root, porta_split_name(p));
    if (!cJSON_IsArray(ids)) {
      st = porta_train_fail(err, err_size, PORTA_ERR_FORMAT, "%s: no array \"%s\"", path,
                            porta_split_name(p));
      break;
    }
    int count = cJSON_GetArraySize(ids);
    out->rows[p] = malloc((size_t)(count ? count : 1) * sizeof(int64_t));
    if (!out->rows[p]) {
      st = porta_train_fail(err, err_size, PORTA_ERR_OUT_OF_MEMORY, "out of memory reading %s",
                            path);
      break;
    }
    cJSON *id;
    cJSON_ArrayForEach(id, ids) {
      char field[48];
      snprintf(field, sizeof field, "%s[%lld]", porta_split_name(p), (long long)out->count[p]);
      st = porta_json_int(&out->rows[p][out->count[p]], id, 0, INT64_MAX, path, field, err,
                          err_size);
      if (st != PORTA_OK) break;
      out->count[p]++;
    }
    qsort(out->rows[p], (size_t)out->count[p], sizeof(int64_t), compare_i64);
  }
  cJSON_Delete(root);
  if (st == PORTA_OK) st = check_distinct(out, path, err, err_size);
  if (st != PORTA_OK) porta_split_free(out);
  return st;
}
