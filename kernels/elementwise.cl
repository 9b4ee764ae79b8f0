/* Elementwise kernels: binary ops with 4-D broadcasting, unary ops and their backward passes,
 * strided copies, and the matrix scaling GEMM uses for k == 0 / beta == 0.
 * Every buffer comes with an element offset (CLBlast's style, no sub-buffers). */

/* The 4-D kernels run over a 3-D range (w, z, x·y) of the shape (x, y, z, w): the host first merges
 * the dims every operand walks contiguously, so most calls are 1-D or 2-D and cost one division
 * per work-item at most. */
inline int4 coords3(int4 shape) {
  int xy = get_global_id(2);
  if (shape.x == 1) return (int4)(0, xy, get_global_id(1), get_global_id(0)); /* no division */
  return (int4)(xy / shape.y, xy % shape.y, get_global_id(1), get_global_id(0));
}

inline int dot4(int4 c, int4 stride) {
  return c.x * stride.x + c.y * stride.y + c.z * stride.z + c.w * stride.w;
}

/* erf for GELU. PORTA_FAST_ERF (set by the host for CPU drivers): Abramowitz & Stegun 7.1.26,
 * |error| ≤ 1.5e-7, i.e. float rounding level — PoCL's erf does not vectorise and costs ≈15 ns an
 * element, 6-7× this. Elsewhere the device's erf. */
inline float gelu_erf(float x) {
#ifdef PORTA_FAST_ERF
  float z = fabs(x);
  float t = 1.0f / (1.0f + 0.3275911f * z);
  float poly =
      t * (0.254829592f +
           t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  float e = 1.0f - poly * exp(-z * z);
  return x < 0.0f ? -e : e;
#else
  return erf(x);
#endif
}

/* out[c] = a[Σ c·a_stride] op b[Σ c·b_stride], out contiguous over `shape`.
 * op: 0 add, 1 sub, 2 mul, 3 div. One work-item per output element; out may alias a or b. */
__kernel void binary_op(__global float *out, int out_off, __global const float *a, int a_off,
                        __global const float *b, int b_off, int4 shape, int4 a_stride,
                        int4 b_stride, int op) {
  if (get_global_id(0) >= shape.w) return;
  int4 c = coords3(shape);
  int i = ((c.x * shape.y + c.y) * shape.z + c.z) * shape.w + c.w;
  float x = a[a_off + dot4(c, a_stride)];
  float y = b[b_off + dot4(c, b_stride)];
  float r;
  switch (op) {
  case 0: r = x + y; break;
  case 1: r = x - y; break;
  case 2: r = x * y; break;
  default: r = x / y; break;
  }
  out[out_off + i] = r;
}

/* out[i] = f(x[i]) for i < n. op: 0 scale (alpha·x + beta), 1 GELU (erf), 2 tanh, 3 ReLU.
 * One work-item per element; out may alias x. */
__kernel void unary_op(__global float *out, int out_off, __global const float *x, int x_off,
                       int n, int op, float alpha, float beta) {
  int i = get_global_id(0);
  if (i >= n) return;
  float v = x[x_off + i];
  float r;
  switch (op) {
  case 0: r = alpha * v + beta; break;
  case 1: r = 0.5f * v * (1.0f + gelu_erf(v * 0.70710678118654752f)); break;
  case 2: r = tanh(v); break;
  default: r = v > 0.0f ? v : 0.0f; break;
  }
  out[out_off + i] = r;
}

/* dx[i] = dy[i] · f'(saved[i]) for i < n; saved is the input for GELU and ReLU and the output
 * for tanh; scale gives alpha · dy. One work-item per element; dx may alias dy. */
__kernel void unary_bwd_op(__global float *dx, int dx_off, __global const float *saved,
                           int saved_off, __global const float *dy, int dy_off, int n, int op,
                           float alpha) {
  int i = get_global_id(0);
  if (i >= n) return;
  float g = dy[dy_off + i];
  float r;
  switch (op) {
  case 0: r = alpha * g; break;
  case 1: {
    float v = saved[saved_off + i];
    float cdf = 0.5f * (1.0f + gelu_erf(v * 0.70710678118654752f));
    float pdf = exp(-0.5f * v * v) * 0.39894228040143268f; /* 1/√(2π) */
    r = g * (cdf + v * pdf);
    break;
  }
  case 2: {
    float y = saved[saved_off + i];
    r = g * (1.0f - y * y);
    break;
  }
  default: r = saved[saved_off + i] > 0.0f ? g : 0.0f; break;
  }
  dx[dx_off + i] = r;
}

/* out[Σ c·out_stride] = x[Σ c·x_stride] over the 4-D `shape`, as bits: works for f32 and i32
 * alike. One work-item per element. */
__kernel void copy_bits(__global uint *out, int out_off, __global const uint *x, int x_off,
                        int4 shape, int4 out_stride, int4 x_stride) {
  if (get_global_id(0) >= shape.w) return;
  int4 c = coords3(shape);
  out[out_off + dot4(c, out_stride)] = x[x_off + dot4(c, x_stride)];
}

/* out[Σ c·out_stride] += x[Σ c·x_stride] (f32). Output positions are distinct, so no races. */
__kernel void copy_accumulate(__global float *out, int out_off, __global const float *x,
                              int x_off, int4 shape, int4 out_stride, int4 x_stride) {
  if (get_global_id(0) >= shape.w) return;
  int4 c = coords3(shape);
  out[out_off + dot4(c, out_stride)] += x[x_off + dot4(c, x_stride)];
}

/* C[b][i][j] = beta == 0 ? 0 : beta · C[b][i][j] for the m×n matrices (ldc, stride_c) of a GEMM
 * whose product term is empty (k == 0). Work-item (j, i, b). */
__kernel void scale_matrix(__global float *c, int c_off, int m, int n, int ldc, int stride_c,
                           float beta) {
  int j = get_global_id(0), i = get_global_id(1), b = get_global_id(2);
  if (i >= m || j >= n) return;
  __global float *p = c + c_off + (size_t)b * stride_c + (size_t)i * ldc + j;
  *p = beta == 0.0f ? 0.0f : beta * *p;
}
