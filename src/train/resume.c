/* What --resume checks before it continues a run: that the data file still holds the rows the
 * run began with (their fingerprint is in settings.json), that trainer_state.json fits the
 * schedule. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "train/train_internal.h"

uint64_t porta_hash64(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull; // FNV-1a
  return h;
}

void porta_data_fingerprint(porta_data_fingerprint_info *out, const porta_dataset *ds,
                            const porta_label_map *labels) {
  uint64_t h = PORTA_HASH64_INIT;
  for (int64_t i = 0; i < ds->count; i++) {
    h = porta_hash64(h, ds->texts[i], strlen(ds->texts[i]) + 1);
    int32_t id = ds->labels[i];
    const char *name = id >= 0 && id < labels->count ? labels->names[id] : "";
    h = porta_hash64(h, name, strlen(name) + 1);
  }
  out->rows_hash = h;
  out->rows = ds->count;
  struct stat sb;
  out->bytes = stat(ds->path, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

porta_status porta_data_fingerprint_check(const porta_data_fingerprint_info *recorded,
                                          const porta_data_fingerprint_info *now,
                                          const char *data_path, bool allow_changed, bool *changed,
                                          char *err, size_t err_size) {
  *changed = recorded->rows_hash != now->rows_hash || recorded->rows != now->rows;
  if (!*changed || allow_changed) return PORTA_OK;
  return porta_train_fail(
      err, err_size, PORTA_ERR_STATE,
      "%s is not the data this run began with (then %lld rows, %lld bytes, rows hash %016llx; now "
      "%lld rows, %lld bytes, %016llx): the split and the checkpoint belong to the old rows. "
      "Resume with the original file, or pass --allow-changed-data to go on with these rows",
      data_path, (long long)recorded->rows, (long long)recorded->bytes,
      (unsigned long long)recorded->rows_hash, (long long)now->rows, (long long)now->bytes,
      (unsigned long long)now->rows_hash);
}

porta_status porta_train_state_check(const porta_train_state *s, const porta_schedule *plan,
                                     const char *path, char *err, size_t err_size) {
  // a step count is epoch * steps_per_epoch + the steps of the epoch in progress; a finished run
  // (step == total) has ended its last epoch: next_batch 0, epoch past it
  bool finished = s->step == plan->total_steps;
  int64_t steps_in_epoch = (s->next_batch + plan->grad_accum - 1) / plan->grad_accum;
  bool fits = s->step >= 0 && s->step <= plan->total_steps && s->epoch <= plan->epochs &&
              s->next_batch >= 0 && s->next_batch < plan->batches_per_epoch &&
              s->best_epoch >= -1 && (s->best_epoch < s->epoch || s->best_epoch == -1) &&
              (finished ? s->next_batch == 0 && s->epoch >= 1
                        : s->epoch < plan->epochs &&
                              s->step == s->epoch * plan->steps_per_epoch + steps_in_epoch);
  if (fits) return PORTA_OK;
  return porta_train_fail(err, err_size, PORTA_ERR_FORMAT,
                          "%s: step %lld, epoch %lld, next_batch %lld, best_epoch %lld do not fit "
                          "this run's schedule (%lld steps in %lld epochs of %lld steps, %lld "
                          "batches each, %d accumulated a step)",
                          path, (long long)s->step, (long long)s->epoch, (long long)s->next_batch,
                          (long long)s->best_epoch, (long long)plan->total_steps,
                          (long long)plan->epochs, (long long)plan->steps_per_epoch,
                          (long long)plan->batches_per_epoch, plan->grad_accum);
}
