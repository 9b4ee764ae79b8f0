/* Embedding lookup and its backward pass. ids are i32; ids outside [0, vocab) give zeros
 * (forward) or are skipped (backward). */

/* out[t, d] = table[ids[t], d]; out [n_ids, dim]. One work-item per output element. */
__kernel void embedding_fwd(__global float *out, int out_off, __global const float *table,
                            int table_off, __global const int *ids, int ids_off, int n_ids,
                            int dim, int vocab) {
  int i = get_global_id(0);
  if (i >= n_ids * dim) return;
  int t = i / dim, d = i % dim;
  int id = ids[ids_off + t];
  out[out_off + i] = (id >= 0 && id < vocab) ? table[table_off + id * dim + d] : 0.0f;
}

/* dtable[ids[t], d] += dout[t, d] for every t, in token order. Work-item d owns column d of
 * dtable and walks the tokens serially: deterministic, no atomics, no races. */
__kernel void embedding_bwd(__global float *dtable, int dtable_off, __global const float *dout,
                            int dout_off, __global const int *ids, int ids_off, int n_ids,
                            int dim, int vocab) {
  int d = get_global_id(0);
  if (d >= dim) return;
  for (int t = 0; t < n_ids; t++) {
    int id = ids[ids_off + t];
    if (id >= 0 && id < vocab) dtable[dtable_off + id * dim + d] += dout[dout_off + t * dim + d];
  }
}
