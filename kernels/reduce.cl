/* Sums: reductions over the dims of a 4-D tensor, and the sum of squares (for gradient norms).
 * Both are deterministic: a fixed order per work-item and a fixed tree per work-group. */

/* Sum of v over the work-group (size a power of two); every work-item gets the result. */
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

inline int4 unflatten4(int i, int4 shape) {
  int4 c;
  c.w = i % shape.w;
  i /= shape.w;
  c.z = i % shape.z;
  i /= shape.z;
  c.y = i % shape.y;
  c.x = i / shape.y;
  return c;
}

inline int dot4(int4 c, int4 stride) {
  return c.x * stride.x + c.y * stride.y + c.z * stride.z + c.w * stride.w;
}

/* Kept dims (keep_shape, with x strides keep_xs and out strides keep_os; n_out outputs) and
 * reduced dims (red_shape, x strides red_xs; n_red elements each):
 *   out[Σ k·keep_os] = beta · out[...] + alpha · Σ_r x[Σ k·keep_xs + Σ r·red_xs]  (beta 0: no read)
 * reduce_serial: one work-item per output, a serial loop over the reduced elements (many outputs,
 * e.g. a bias gradient: neighbouring work-items read neighbouring columns). */
__kernel void reduce_serial(__global float *out, int out_off, __global const float *x, int x_off,
                            int4 keep_shape, int4 keep_xs, int4 keep_os, int4 red_shape,
                            int4 red_xs, int n_out, float alpha, float beta) {
  int o = get_global_id(0);
  if (o >= n_out) return;
  int4 k = unflatten4(o, keep_shape);
  __global const float *base = x + x_off + dot4(k, keep_xs);
  float sum = 0.0f;
  for (int r0 = 0; r0 < red_shape.x; r0++)
    for (int r1 = 0; r1 < red_shape.y; r1++)
      for (int r2 = 0; r2 < red_shape.z; r2++)
        for (int r3 = 0; r3 < red_shape.w; r3++)
          sum += base[r0 * red_xs.x + r1 * red_xs.y + r2 * red_xs.z + r3 * red_xs.w];
  int oi = out_off + dot4(k, keep_os);
  out[oi] = beta == 0.0f ? alpha * sum : beta * out[oi] + alpha * sum;
}

/* The 2-D case with contiguous columns, for CPU devices:
 *   out[j · out_stride] = beta · out[...] + alpha · Σ_r x[r · row_stride + j]  for j < n_out
 * (e.g. a bias gradient, rows = tokens). Work-item c adds 16 neighbouring columns as float16 rows
 * (vload16), walking the rows in order: the same order per column as reduce_serial, without a
 * column walk per work-item. */
__kernel void reduce_cols16(__global float *out, int out_off, int out_stride,
                            __global const float *x, int x_off, int row_stride, int rows,
                            int n_out, float alpha, float beta) {
  int j0 = get_global_id(0) * 16;
  if (j0 >= n_out) return;
  int cols = min(16, n_out - j0);
  __global const float *base = x + x_off + j0;
  float sum[16];
  if (cols == 16) {
    float16 acc = 0.0f;
    for (int r = 0; r < rows; r++) acc += vload16(0, base + (size_t)r * row_stride);
    vstore16(acc, 0, sum);
  } else {
    for (int c = 0; c < cols; c++) sum[c] = 0.0f;
    for (int r = 0; r < rows; r++)
      for (int c = 0; c < cols; c++) sum[c] += base[(size_t)r * row_stride + c];
  }
  for (int c = 0; c < cols; c++) {
    int oi = out_off + (j0 + c) * out_stride;
    out[oi] = beta == 0.0f ? alpha * sum[c] : beta * out[oi] + alpha * sum[c];
  }
}

/* The same with one work-group per output (few outputs, long reductions): work-item l sums the
 * reduced elements l, l + size, ..., then the group adds the partial sums as a tree. */
__kernel void reduce_group(__global float *out, int out_off, __global const float *x, int x_off,
                           int4 keep_shape, int4 keep_xs, int4 keep_os, int4 red_shape,
                           int4 red_xs, int n_red, float alpha, float beta,
                           __local float *tmp) {
  int o = get_group_id(0);
  int4 k = unflatten4(o, keep_shape);
  __global const float *base = x + x_off + dot4(k, keep_xs);
  float sum = 0.0f;
  for (int r = get_local_id(0); r < n_red; r += get_local_size(0))
    sum += base[dot4(unflatten4(r, red_shape), red_xs)];
  sum = wg_sum(sum, tmp);
  if (get_local_id(0) == 0) {
    int oi = out_off + dot4(k, keep_os);
    out[oi] = beta == 0.0f ? alpha * sum : beta * out[oi] + alpha * sum;
  }
}

/* Stage 1 of Σ x[i]², i < n: work-group g sums the squares of its elements (i = g·size + l,
 * then strided by the whole range) into partial[g]. */
__kernel void sumsq_partial(__global float *partial, __global const float *x, int x_off, int n,
                            __local float *tmp) {
  int stride = get_global_size(0);
  float sum = 0.0f;
  for (int i = get_global_id(0); i < n; i += stride) {
    float v = x[x_off + i];
    sum += v * v;
  }
  sum = wg_sum(sum, tmp);
  if (get_local_id(0) == 0) partial[get_group_id(0)] = sum;
}

/* Stage 1 for CPU devices: work-item g sums the squares of the contiguous chunk
 * [g·chunk, min(n, (g+1)·chunk)) as float16 vectors into partial[g] (chunk a multiple of 16). */
__kernel void sumsq_chunks(__global float *partial, __global const float *x, int x_off, int n,
                           int chunk, int items) {
  int g = get_global_id(0);
  if (g >= items) return;
  int start = g * chunk, end = min(n, start + chunk);
  __global const float *p = x + x_off;
  float16 acc = 0.0f;
  int i = start;
  for (; i + 16 <= end; i += 16) {
    float16 v = vload16(0, p + i);
    acc += v * v;
  }
  float sum = 0.0f;
  for (; i < end; i++) sum += p[i] * p[i];
  float8 h8 = acc.lo + acc.hi;
  float4 h4 = h8.lo + h8.hi;
  partial[g] = sum + (h4.x + h4.y) + (h4.z + h4.w);
}

/* Stage 2: one work-group adds the `groups` partial sums:
 * out[0] = (accumulate ? out[0] : 0) + Σ partial. */
__kernel void sumsq_final(__global float *out, int out_off, __global const float *partial,
                          int groups, int accumulate, __local float *tmp) {
  float sum = 0.0f;
  for (int g = get_local_id(0); g < groups; g += get_local_size(0)) sum += partial[g];
  sum = wg_sum(sum, tmp);
  if (get_local_id(0) == 0) out[out_off] = accumulate ? out[out_off] + sum : sum;
}
