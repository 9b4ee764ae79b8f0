/* Row-wise softmax forward/backward and cross-entropy. One work-group per row: work-item l
 * handles the columns l, l + size, ...; sums and maxima go through a fixed local-memory tree
 * (size a power of two), so results are deterministic. */

inline float wg_sum(float v, __local float *tmp) {
  int lid = get_local_id(0), size = get_local_size(0);
  tmp[lid] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int s = size / 2; s > 0; s >>= 1) {
    if (lid < s) tmp[lid] += tmp[lid + s];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  float r = tmp[0];
  barrier(CLK_LOCAL_MEM_FENCE);
  return r;
}

inline float wg_max(float v, __local float *tmp) {
  int lid = get_local_id(0), size = get_local_size(0);
  tmp[lid] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int s = size / 2; s > 0; s >>= 1) {
    if (lid < s) tmp[lid] = fmax(tmp[lid], tmp[lid + s]);
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  float r = tmp[0];
  barrier(CLK_LOCAL_MEM_FENCE);
  return r;
}

/* y[r, :] = softmax(scale · x[r, :] + mask[r / mask_div, :]) over n columns; rows [rows, n].
 * has_mask 0: no mask (the mask buffer is a dummy). A row that is all -inf gives zeros. */
__kernel void softmax_fwd(__global float *y, int y_off, __global const float *x, int x_off,
                          __global const float *mask, int mask_off, int has_mask, int mask_div,
                          int n, float scale, __local float *tmp) {
  int r = get_group_id(0), lid = get_local_id(0), size = get_local_size(0);
  __global const float *xr = x + x_off + (size_t)r * n;
  __global const float *mr = mask + mask_off + (size_t)(r / mask_div) * n;
  __global float *yr = y + y_off + (size_t)r * n;
  float mx = -INFINITY;
  for (int j = lid; j < n; j += size) mx = fmax(mx, scale * xr[j] + (has_mask ? mr[j] : 0.0f));
  mx = wg_max(mx, tmp);
  if (mx == -INFINITY) { /* fully masked row */
    for (int j = lid; j < n; j += size) yr[j] = 0.0f;
    return;
  }
  float sum = 0.0f;
  for (int j = lid; j < n; j += size) sum += exp(scale * xr[j] + (has_mask ? mr[j] : 0.0f) - mx);
  sum = wg_sum(sum, tmp);
  float inv = 1.0f / sum;
  for (int j = lid; j < n; j += size)
    yr[j] = exp(scale * xr[j] + (has_mask ? mr[j] : 0.0f) - mx) * inv;
}

/* dx[r, :] = scale · y ⊙ (dy - Σ_j dy_j y_j). dx may alias dy: each element is read by the
 * work-item that writes it, after the row's sum is complete. */
__kernel void softmax_bwd(__global float *dx, int dx_off, __global const float *y, int y_off,
                          __global const float *dy, int dy_off, int n, float scale,
                          __local float *tmp) {
  int r = get_group_id(0), lid = get_local_id(0), size = get_local_size(0);
  __global const float *yr = y + y_off + (size_t)r * n;
  __global const float *dyr = dy + dy_off + (size_t)r * n;
  __global float *dxr = dx + dx_off + (size_t)r * n;
  float dot = 0.0f;
  for (int j = lid; j < n; j += size) dot += dyr[j] * yr[j];
  dot = wg_sum(dot, tmp);
  for (int j = lid; j < n; j += size) dxr[j] = scale * yr[j] * (dyr[j] - dot);
}

/* Cross-entropy stage 1, row b of logits [B, C]: probs[b, :] = softmax(logits[b, :]) and
 * row_loss[b] = logsumexp(logits[b, :]) - logits[b, label_b] for a valid label (0 ≤ label < C),
 * else 0. */
__kernel void cross_entropy_rows(__global float *probs, int probs_off,
                                 __global const float *logits, int logits_off,
                                 __global const int *labels, int labels_off,
                                 __global float *row_loss, int classes, __local float *tmp) {
  int b = get_group_id(0), lid = get_local_id(0), size = get_local_size(0);
  __global const float *lr = logits + logits_off + (size_t)b * classes;
  __global float *pr = probs + probs_off + (size_t)b * classes;
  float mx = -INFINITY;
  for (int j = lid; j < classes; j += size) mx = fmax(mx, lr[j]);
  mx = wg_max(mx, tmp);
  float sum = 0.0f;
  for (int j = lid; j < classes; j += size) sum += exp(lr[j] - mx);
  sum = wg_sum(sum, tmp);
  float inv = 1.0f / sum;
  for (int j = lid; j < classes; j += size) pr[j] = exp(lr[j] - mx) * inv;
  if (lid == 0) {
    int label = labels[labels_off + b];
    row_loss[b] = (label >= 0 && label < classes) ? mx + log(sum) - lr[label] : 0.0f;
  }
}

/* Cross-entropy stage 2, one work-group: loss[0] = Σ row_loss / n_valid (0 when none valid). */
__kernel void cross_entropy_total(__global float *loss, int loss_off,
                                  __global const float *row_loss, __global const int *labels,
                                  int labels_off, int batch, int classes, __local float *tmp) {
  float sum = 0.0f, valid = 0.0f;
  for (int b = get_local_id(0); b < batch; b += get_local_size(0)) {
    int label = labels[labels_off + b];
    if (label >= 0 && label < classes) {
      sum += row_loss[b];
      valid += 1.0f;
    }
  }
  sum = wg_sum(sum, tmp);
  valid = wg_sum(valid, tmp);
  if (get_local_id(0) == 0) loss[loss_off] = valid > 0.0f ? sum / valid : 0.0f;
}

/* One work-group: count[0] = the number of valid labels (as a float), for the backward pass. */
__kernel void cross_entropy_count(__global float *count, __global const int *labels,
                                  int labels_off, int batch, int classes, __local float *tmp) {
  float valid = 0.0f;
  for (int b = get_local_id(0); b < batch; b += get_local_size(0)) {
    int label = labels[labels_off + b];
    if (label >= 0 && label < classes) valid += 1.0f;
  }
  valid = wg_sum(valid, tmp);
  if (get_local_id(0) == 0) count[0] = valid;
}

/* dlogits[b, c] = dloss[0] · (probs[b, c] - [c == label_b]) / n_valid for valid rows, else 0.
 * count[0] = n_valid from cross_entropy_count. One work-item per element. */
__kernel void cross_entropy_bwd(__global float *dlogits, int dlogits_off,
                                __global const float *probs, int probs_off,
                                __global const int *labels, int labels_off,
                                __global const float *dloss, int dloss_off,
                                __global const float *count, int batch, int classes) {
  int i = get_global_id(0);
  if (i >= batch * classes) return;
  int b = i / classes, c = i % classes;
  int label = labels[labels_off + b];
  float r = 0.0f;
  if (label >= 0 && label < classes)
    r = dloss[dloss_off] * (probs[probs_off + i] - (c == label ? 1.0f : 0.0f)) / count[0];
  dlogits[dlogits_off + i] = r;
}
