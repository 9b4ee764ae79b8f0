/* libFuzzer: arbitrary bytes as the JSON files of a run / checkpoint folder, which `porta eval
 * --run`, `porta predict` and a resumed `porta train` read back (a folder may come from someone
 * else): the first byte picks the file, the rest is its content.
 *   0 labels.json   1 split.json   2 trainer_state.json   3 settings.json
 * A load must fail cleanly or give sane values (a label map of 1..PORTA_MAX_CLASSES names). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "porta/porta.h"
#include "train/train_internal.h"

static char dir[512];
static char file_path[4][600];

static void remove_temp_files(void) {
  for (int i = 0; i < 4; i++) unlink(file_path[i]);
  rmdir(dir);
}

static void make_temp_dir(void) {
  // a file system in memory when there is one: every input is written and read back
  const char *tmp = getenv("TMPDIR");
  if (!tmp || !tmp[0]) tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  snprintf(dir, sizeof dir, "%s/porta-fuzz-run-XXXXXX", tmp);
  if (!mkdtemp(dir)) {
    fprintf(stderr, "fuzz_run_files: cannot create a temporary folder %s\n", dir);
    abort(); /* the harness cannot run without it */
  }
  static const char *const names[4] = {"labels.json", "split.json", "trainer_state.json",
                                       "settings.json"};
  for (int i = 0; i < 4; i++) snprintf(file_path[i], sizeof file_path[i], "%s/%s", dir, names[i]);
  atexit(remove_temp_files);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  if (!dir[0]) make_temp_dir();
  int mode = data[0] % 4;
  FILE *f = fopen(file_path[mode], "wb");
  if (!f || fwrite(data + 1, 1, size - 1, f) != size - 1 || fclose(f) != 0) abort();

  char err[512];
  if (mode == 0) {
    porta_label_map map;
    if (porta_label_map_load(&map, file_path[0], err, sizeof err) == PORTA_OK) {
      if (map.count < 1 || map.count > PORTA_MAX_CLASSES) abort();
      for (int i = 0; i < map.count; i++)
        if (!map.names[i] || porta_label_map_find(&map, map.names[i]) < 0) abort();
      porta_label_map_free(&map);
    }
  } else if (mode == 1) {
    porta_split split;
    if (porta_split_load(&split, file_path[1], err, sizeof err) == PORTA_OK) {
      for (int p = 0; p < 3; p++)
        for (int64_t i = 1; i < split.count[p]; i++)
          if (split.rows[p][i] < split.rows[p][i - 1]) abort(); /* sorted ascending */
      porta_split_free(&split);
    }
  } else if (mode == 2) {
    porta_train_state state;
    (void)porta_train_state_load(&state, dir, err, sizeof err);
  } else {
    porta_train_options options;
    porta_settings_strings strings;
    porta_train_options_init(&options);
    (void)porta_settings_load(&options, &strings, file_path[3], err, sizeof err);
  }
  return 0;
}
