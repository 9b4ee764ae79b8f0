/* Layer norm over the last dim, forward and backward. Row kernels: one work-group per row,
 * work-item l handles columns l, l + size, ...; sums through a fixed local-memory tree. */

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

/* Row r of x [rows, n]: mean, biased variance by a second pass over (x - mean)²,
 * rstd = 1/sqrt(var + eps), y = (x - mean) · rstd · gamma + beta; saves mean[r] and rstd[r]. */
__kernel void layernorm_fwd(__global float *y, int y_off, __global float *mean, int mean_off,
                            __global float *rstd, int rstd_off, __global const float *x,
                            int x_off, __global const float *gamma, int gamma_off,
                            __global const float *beta, int beta_off, int n, float eps,
                            __local float *tmp) {
  int r = get_group_id(0), lid = get_local_id(0), size = get_local_size(0);
  __global const float *xr = x + x_off + (size_t)r * n;
  __global float *yr = y + y_off + (size_t)r * n;
  /* Deviations are taken from x[0] first, (x - x[0]) - mean(x - x[0]): a row like 1000 ± 1 keeps
   * its digits both in the float sum (whatever the group size, down to one work-item walking
   * the row) and in the deviations. */
  float shift = xr[0];
  float sum = 0.0f;
  for (int j = lid; j < n; j += size) sum += xr[j] - shift;
  float dmu = wg_sum(sum, tmp) / n;
  float mu = shift + dmu;
  float sq = 0.0f;
  for (int j = lid; j < n; j += size) {
    float d = (xr[j] - shift) - dmu;
    sq += d * d;
  }
  float rs = 1.0f / sqrt(wg_sum(sq, tmp) / n + eps);
  for (int j = lid; j < n; j += size)
    yr[j] = ((xr[j] - shift) - dmu) * rs * gamma[gamma_off + j] + beta[beta_off + j];
  if (lid == 0) {
    mean[mean_off + r] = mu;
    rstd[rstd_off + r] = rs;
  }
}

/* dx for row r: with x̂ = (x - mean)·rstd and g = dy·gamma,
 *   dx = rstd · (g - mean(g) - x̂ · mean(g·x̂)). */
__kernel void layernorm_bwd_dx(__global float *dx, int dx_off, __global const float *dy,
                               int dy_off, __global const float *x, int x_off,
                               __global const float *mean, int mean_off,
                               __global const float *rstd, int rstd_off,
                               __global const float *gamma, int gamma_off, int n,
                               __local float *tmp) {
  int r = get_group_id(0), lid = get_local_id(0), size = get_local_size(0);
  __global const float *xr = x + x_off + (size_t)r * n;
  __global const float *dyr = dy + dy_off + (size_t)r * n;
  __global float *dxr = dx + dx_off + (size_t)r * n;
  float mu = mean[mean_off + r], rs = rstd[rstd_off + r];
  float sum_g = 0.0f, sum_gx = 0.0f;
  for (int j = lid; j < n; j += size) {
    float g = dyr[j] * gamma[gamma_off + j];
    sum_g += g;
    sum_gx += g * (xr[j] - mu) * rs;
  }
  float mean_g = wg_sum(sum_g, tmp) / n;
  float mean_gx = wg_sum(sum_gx, tmp) / n;
  for (int j = lid; j < n; j += size) {
    float g = dyr[j] * gamma[gamma_off + j];
    float xhat = (xr[j] - mu) * rs;
    dxr[j] = rs * (g - mean_g - xhat * mean_gx);
  }
}

/* dgamma[j] += Σ_r dy[r, j] · x̂[r, j], dbeta[j] += Σ_r dy[r, j]. Work-item j owns column j and
 * walks the rows in order: deterministic, no atomics. */
__kernel void layernorm_bwd_params(__global float *dgamma, int dgamma_off, __global float *dbeta,
                                   int dbeta_off, __global const float *dy, int dy_off,
                                   __global const float *x, int x_off,
                                   __global const float *mean, int mean_off,
                                   __global const float *rstd, int rstd_off, int rows, int n) {
  int j = get_global_id(0);
  if (j >= n) return;
  float sg = 0.0f, sb = 0.0f;
  for (int r = 0; r < rows; r++) {
    float g = dy[dy_off + (size_t)r * n + j];
    sg += g * (x[x_off + (size_t)r * n + j] - mean[mean_off + r]) * rstd[rstd_off + r];
    sb += g;
  }
  dgamma[dgamma_off + j] += sg;
  dbeta[dbeta_off + j] += sb;
}
