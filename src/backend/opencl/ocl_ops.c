/* Host side of the non-GEMM ops: argument checks, work sizes and kernel arguments. The kernels
 * are in kernels/{elementwise,reduce,softmax,layernorm,embedding,dropout,adamw}.cl. */
#include <math.h>
#include <stdio.h>

#include "backend/opencl/ocl_internal.h"

#define MEM(ref) ((cl_mem)(ref).buf)
#define OFF(ref) ((int)(ref).off)

/* 1-D elementwise launch with a fixed local size (the global size is rounded up to it; the
 * kernels check bounds). */
static porta_status run_1d(ocl_launch *l, porta_op op, int64_t n) {
  size_t global = (size_t)n, local = ocl_launch_elem_wg(l);
  return ocl_launch_run(l, op, 1, &global, &local);
}

/* One work-group of `wg` work-items per row. */
static porta_status run_rows(ocl_launch *l, porta_op op, int64_t rows, size_t wg) {
  size_t global = (size_t)rows * wg, local = wg;
  return ocl_launch_run(l, op, 1, &global, &local);
}

static bool shape_fits(const int64_t *shape, int64_t *numel) {
  int64_t n = 1;
  for (int d = 0; d < PORTA_MAX_DIMS; d++) {
    if (shape[d] < 0 || !ocl_fits_int(shape[d])) return false;
    n *= shape[d];
    if (!ocl_fits_int(n)) return false;
  }
  *numel = n;
  return true;
}

static void to_int4(const int64_t *v, int out[4]) {
  for (int d = 0; d < 4; d++) out[d] = (int)v[d];
}

/* Merges neighbouring dims that every operand walks as one (stride[d] == stride[d+1]·shape[d+1])
 * and drops size-1 dims, in place; the result is right-aligned (leading dims of size 1, stride 0).
 * A contiguous tensor becomes 1-D, a bias broadcast over rows 2-D. */
static void collapse_dims(int64_t shape[4], int64_t *const strides[], int count) {
  int64_t out_shape[4] = {1, 1, 1, 1}, out_strides[3][4] = {{0}};
  int n = 0; /* dims written so far, from the right */
  for (int d = 3; d >= 0; d--) {
    if (shape[d] == 1) continue;
    bool merge = n > 0;
    for (int s = 0; merge && s < count; s++)
      merge = strides[s][d] == out_strides[s][4 - n] * out_shape[4 - n];
    if (merge) {
      out_shape[4 - n] *= shape[d];
      continue;
    }
    n++;
    out_shape[4 - n] = shape[d];
    for (int s = 0; s < count; s++) out_strides[s][4 - n] = strides[s][d];
  }
  for (int d = 0; d < 4; d++) {
    shape[d] = out_shape[d];
    for (int s = 0; s < count; s++) strides[s][d] = out_strides[s][d];
  }
}

/* Launches a 4-D kernel over the 3-D range (w, z, x·y) of `shape` (x, y, z, w). */
static porta_status run_4d(ocl_launch *l, porta_op op, const int64_t shape[4]) {
  size_t wg = ocl_launch_elem_wg(l), local_x = 1;
  while (local_x < wg && (int64_t)local_x < shape[3])
    local_x *= 2; /* no idle lanes on short rows */
  size_t global[3] = {(size_t)shape[3], (size_t)shape[2], (size_t)(shape[0] * shape[1])};
  size_t local[3] = {local_x, 1, 1};
  return ocl_launch_run(l, op, 3, global, local);
}

porta_status ocl_binary(porta_backend *base, const porta_binary_args *a) {
  ocl_backend *be = (ocl_backend *)base;
  int64_t n;
  if (!shape_fits(a->shape, &n))
    return ocl_fail(be, PORTA_ERR_UNSUPPORTED, "binary: shape too large for 32-bit indexing");
  if (n == 0) return PORTA_OK;
  int64_t dims[4], out_stride[4], a_stride[4], b_stride[4];
  for (int d = 3, step = 1; d >= 0; d--) { /* out is contiguous */
    dims[d] = a->shape[d], a_stride[d] = a->a_stride[d], b_stride[d] = a->b_stride[d];
    out_stride[d] = step;
    step *= (int)a->shape[d];
  }
  int64_t *const strides[3] = {out_stride, a_stride, b_stride};
  collapse_dims(dims, strides, 3);
  int shape[4], as[4], bs[4];
  to_int4(dims, shape);
  to_int4(a_stride, as);
  to_int4(b_stride, bs);
  ocl_launch l;
  ocl_launch_begin(&l, be, OCL_PROG_ELEMENTWISE, "binary_op");
  ocl_arg_mem(&l, MEM(a->out));
  ocl_arg_int(&l, OFF(a->out));
  ocl_arg_mem(&l, MEM(a->a));
  ocl_arg_int(&l, OFF(a->a));
  ocl_arg_mem(&l, MEM(a->b));
  ocl_arg_int(&l, OFF(a->b));
  ocl_arg_int4(&l, shape);
  ocl_arg_int4(&l, as);
  ocl_arg_int4(&l, bs);
  ocl_arg_int(&l, (int)a->op);
  return run_4d(&l, PORTA_OP_BINARY, dims);
}

porta_status ocl_unary(porta_backend *base, const porta_unary_args *a) {
  ocl_backend *be = (ocl_backend *)base;
  if (!ocl_fits_int(a->n)) return ocl_fail(be, PORTA_ERR_UNSUPPORTED, "unary: n too large");
  ocl_launch l;
  ocl_launch_begin(&l, be, OCL_PROG_ELEMENTWISE, "unary_op");
  ocl_arg_mem(&l, MEM(a->out));
  ocl_arg_int(&l, OFF(a->out));
  ocl_arg_mem(&l, MEM(a->x));
  ocl_arg_int(&l, OFF(a->x));
  ocl_arg_int(&l, (int)a->n);
  ocl_arg_int(&l, (int)a->op);
  ocl_arg_float(&l, a->alpha);
  ocl_arg_float(&l, a->beta);
  return run_1d(&l, PORTA_OP_UNARY, a->n);
}

porta_status ocl_unary_bwd(porta_backend *base, const porta_unary_bwd_args *a) {
  ocl_backend *be = (ocl_backend *)base;
  if (!ocl_fits_int(a->n)) return ocl_fail(be, PORTA_ERR_UNSUPPORTED, "unary_bwd: n too large");
  /* SCALE does not read x: pass dy so that a NULL x is never bound. */
  porta_ref saved = a->x.buf ? a->x : a->dy;
  ocl_launch l;
  ocl_launch_begin(&l, be, OCL_PROG_ELEMENTWISE, "unary_bwd_op");
  ocl_arg_mem(&l, MEM(a->dx));
  ocl_arg_int(&l, OFF(a->dx));
  ocl_arg_mem(&l, MEM(saved));
  ocl_arg_int(&l, OFF(saved));
  ocl_arg_mem(&l, MEM(a->dy));
  ocl_arg_int(&l, OFF(a->dy));
  ocl_arg_int(&l, (int)a->n);
  ocl_arg_int(&l, (int)a->op);
  ocl_arg_float(&l, a->alpha);
  return run_1d(&l, PORTA_OP_UNARY_BWD, a->n);
}

porta_status ocl_reduce(porta_backend *base, const porta_reduce_args *a) {
  ocl_backend *be = (ocl_backend *)base;
  int64_t numel;
  if (!shape_fits(a->shape, &numel))
    return ocl_fail(be, PORTA_ERR_UNSUPPORTED, "reduce: shape too large for 32-bit indexing");
  /* Split the dims into kept (out_stride != 0) and reduced ones, each padded to 4 with size 1. */
  int keep_shape[4] = {1, 1, 1, 1}, keep_xs[4] = {0}, keep_os[4] = {0};
  int red_shape[4] = {1, 1, 1, 1}, red_xs[4] = {0};
  int nk = 0, nr = 0;
  int64_t n_out = 1, n_red = 1;
  for (int d = 0; d < PORTA_MAX_DIMS; d++) {
    if (a->shape[d] == 1) continue;
    if (a->out_stride[d] != 0) {
      keep_shape[nk] = (int)a->shape[d];
      keep_xs[nk] = (int)a->x_stride[d];
      keep_os[nk] = (int)a->out_stride[d];
      nk++;
      n_out *= a->shape[d];
    } else {
      red_shape[nr] = (int)a->shape[d];
      red_xs[nr] = (int)a->x_stride[d];
      nr++;
      n_red *= a->shape[d];
    }
  }
  /* Kept dims go last so that the fastest index of the output varies fastest. */
  int ks[4] = {1, 1, 1, 1}, kx[4] = {0}, ko[4] = {0}, rs[4] = {1, 1, 1, 1}, rx[4] = {0};
  for (int i = 0; i < nk; i++) {
    ks[4 - nk + i] = keep_shape[i];
    kx[4 - nk + i] = keep_xs[i];
    ko[4 - nk + i] = keep_os[i];
  }
  for (int i = 0; i < nr; i++) {
    rs[4 - nr + i] = red_shape[i];
    rx[4 - nr + i] = red_xs[i];
  }
  if (be->base.info.is_cpu && nk == 1 && nr == 1 && keep_xs[0] == 1) {
    ocl_launch c;
    ocl_launch_begin(&c, be, OCL_PROG_REDUCE, "reduce_cols16");
    ocl_arg_mem(&c, MEM(a->out));
    ocl_arg_int(&c, OFF(a->out));
    ocl_arg_int(&c, keep_os[0]);
    ocl_arg_mem(&c, MEM(a->x));
    ocl_arg_int(&c, OFF(a->x));
    ocl_arg_int(&c, red_xs[0]);
    ocl_arg_int(&c, red_shape[0]);
    ocl_arg_int(&c, (int)n_out);
    ocl_arg_float(&c, a->alpha);
    ocl_arg_float(&c, a->beta);
    return run_1d(&c, PORTA_OP_REDUCE, (n_out + 15) / 16);
  }
  bool per_group = n_out < 256 && n_red >= 256;
  ocl_launch l;
  ocl_launch_begin(&l, be, OCL_PROG_REDUCE, per_group ? "reduce_group" : "reduce_serial");
  ocl_arg_mem(&l, MEM(a->out));
  ocl_arg_int(&l, OFF(a->out));
  ocl_arg_mem(&l, MEM(a->x));
  ocl_arg_int(&l, OFF(a->x));
  ocl_arg_int4(&l, ks);
  ocl_arg_int4(&l, kx);
  ocl_arg_int4(&l, ko);
  ocl_arg_int4(&l, rs);
  ocl_arg_int4(&l, rx);
  ocl_arg_int(&l, per_group ? (int)n_red : (int)n_out);
  ocl_arg_float(&l, a->alpha);
  ocl_arg_float(&l, a->beta);
  if (!per_group) return run_1d(&l, PORTA_OP_REDUCE, n_out);
  size_t wg = ocl_launch_row_wg(&l);
  ocl_arg_local(&l, wg * sizeof(float));
  return run_rows(&l, PORTA_OP_REDUCE, n_out, wg);
}

porta_status ocl_copy_strided(porta_backend *base, const porta_copy_args *a) {
  ocl_backend *be = (ocl_backend *)base;
  int64_t n;
  if (!shape_fits(a->shape, &n))
    return ocl_fail(be, PORTA_ERR_UNSUPPORTED, "copy_strided: shape too large for 32-bit indexing");
  if (n == 0) return PORTA_OK;
  int64_t dims[4], out_stride[4], x_stride[4];
  for (int d = 0; d < 4; d++)
    dims[d] = a->shape[d], out_stride[d] = a->out_stride[d], x_stride[d] = a->x_stride[d];
  int64_t *const strides[2] = {out_stride, x_stride};
  collapse_dims(dims, strides, 2);
  int shape[4], os[4], xs[4];
  to_int4(dims, shape);
  to_int4(out_stride, os);
  to_int4(x_stride, xs);
  ocl_launch l;
  ocl_launch_begin(&l, be, OCL_PROG_ELEMENTWISE, a->accumulate ? "copy_accumulate" : "copy_bits");
  ocl_arg_mem(&l, MEM(a->out));
  ocl_arg_int(&l, OFF(a->out));
  ocl_arg_mem(&l, MEM(a->x));
  ocl_arg_int(&l, OFF(a->x));
  ocl_arg_int4(&l, shape);
  ocl_arg_int4(&l, os);
  ocl_arg_int4(&l, xs);
  return run_4d(&l, PORTA_OP_COPY_STRIDED, dims);
}

porta_status ocl_softmax(porta_backend *base, const porta_softmax_args *a) {
  ocl_backend *be = (ocl_backend *)base;
  if (!ocl_fits_int(a->rows * a->n))
    return ocl_fail(be, PORTA_ERR_UNSUPPORTED, "softmax: too large for 32-bit indexing");
  bool has_mask = a->mask.buf != NULL;
  ocl_launch l;
  ocl_launch_begin(&l, be, OCL_PROG_SOFTMAX, "softmax_fwd");
  size_t wg = ocl_launch_row_wg(&l);
  ocl_arg_mem(&l, MEM(a->y));
  ocl_arg_int(&l, OFF(a->y));
  ocl_arg_mem(&l, MEM(a->x));
  ocl_arg_int(&l, OFF(a->x));
  ocl_arg_mem(&l, has_mask ? MEM(a->mask) : MEM(a->x));
  ocl_arg_int(&l, has_mask ? OFF(a->mask) : 0);
  ocl_arg_int(&l, has_mask ? 1 : 0);
  ocl_arg_int(&l, a->mask_div > 0 ? (int)a->mask_div : 1);
  ocl_arg_int(&l, (int)a->n);
  ocl_arg_float(&l, a->scale);
  ocl_arg_local(&l, wg * sizeof(float));
  return run_rows(&l, PORTA_OP_SOFTMAX, a->rows, wg);
}

porta_status ocl_softmax_bwd(porta_backend *base, const porta_softmax_bwd_args *a) {
  ocl_backend *be = (ocl_backend *)base;
  if (!ocl_fits_int(a->rows * a->n))
    return ocl_fail(be, PORTA_ERR_UNSUPPORTED, "softmax_bwd: too large for 32-bit indexing");
  ocl_launch l;
  ocl_launch_begin(&l, be, OCL_PROG_SOFTMAX, "softmax_bwd");
  size_t wg = ocl_launch_row_wg(&l);
  ocl_arg_mem(&l, MEM(a->dx));
  ocl_arg_int(&l, OFF(a->dx));
  ocl_arg_mem(&l, MEM(a->y));
  ocl_arg_int(&l, OFF(a->y));
  ocl_arg_mem(&l, MEM(a->dy));
  ocl_arg_int(&l, OFF(a->dy));
  ocl_arg_int(&l, (int)a->n);
  ocl_arg_float(&l, a->scale);
  ocl_arg_local(&l, wg * sizeof(float));
  return run_rows(&l, PORTA_OP_SOFTMAX_BWD, a->rows, wg);
}

porta_status ocl_layernorm(porta_backend *base, const porta_layernorm_args *a) {
  ocl_backend *be = (ocl_backend *)base;
  if (!ocl_fits_int(a->rows * a->n))
    return ocl_fail(be, PORTA_ERR_UNSUPPORTED, "layernorm: too large for 32-bit indexing");
  ocl_launch l;
  ocl_launch_begin(&l, be, OCL_PROG_LAYERNORM, "layernorm_fwd");
  size_t wg = ocl_launch_row_wg(&l);
  ocl_arg_mem(&l, MEM(a->y));
  ocl_arg_int(&l, OFF(a->y));
  ocl_arg_mem(&l, MEM(a->mean));
  ocl_arg_int(&l, OFF(a->mean));
  ocl_arg_mem(&l, MEM(a->rstd));
  ocl_arg_int(&l, OFF(a->rstd));
  ocl_arg_mem(&l, MEM(a->x));
  ocl_arg_int(&l, OFF(a->x));
  ocl_arg_mem(&l, MEM(a->gamma));
  ocl_arg_int(&l, OFF(a->gamma));
  ocl_arg_mem(&l, MEM(a->beta));
  ocl_arg_int(&l, OFF(a->beta));
  ocl_arg_int(&l, (int)a->n);
  ocl_arg_float(&l, a->eps);
  ocl_arg_local(&l, wg * sizeof(float));
  return run_rows(&l, PORTA_OP_LAYERNORM, a->rows, wg);
}

porta_status ocl_layernorm_bwd(porta_backend *base, const porta_layernorm_bwd_args *a) {
  ocl_backend *be = (ocl_backend *)base;
  if (!ocl_fits_int(a->rows * a->n))
    return ocl_fail(be, PORTA_ERR_UNSUPPORTED, "layernorm_bwd: too large for 32-bit indexing");
  ocl_launch l;
  ocl_launch_begin(&l, be, OCL_PROG_LAYERNORM, "layernorm_bwd_dx");
  size_t wg = ocl_launch_row_wg(&l);
  ocl_arg_mem(&l, MEM(a->dx));
  ocl_arg_int(&l, OFF(a->dx));
  ocl_arg_mem(&l, MEM(a->dy));
  ocl_arg_int(&l, OFF(a->dy));
  ocl_arg_mem(&l, MEM(a->x));
  ocl_arg_int(&l, OFF(a->x));
  ocl_arg_mem(&l, MEM(a->mean));
  ocl_arg_int(&l, OFF(a->mean));
  ocl_arg_mem(&l, MEM(a->rstd));
  ocl_arg_int(&l, OFF(a->rstd));
  ocl_arg_mem(&l, MEM(a->gamma));
  ocl_arg_int(&l, OFF(a->gamma));
  ocl_arg_int(&l, (int)a->n);
  ocl_arg_local(&l, wg * sizeof(float));
  porta_status st = run_rows(&l, PORTA_OP_LAYERNORM_BWD, a->rows, wg);
  if (st != PORTA_OK || (!a->dgamma.buf && !a->dbeta.buf)) return st;
  if (!a->dgamma.buf || !a->dbeta.buf)
    return ocl_fail(be, PORTA_ERR_INVALID_ARGUMENT, "layernorm_bwd: dgamma and dbeta go together");
  ocl_launch p;
  ocl_launch_begin(&p, be, OCL_PROG_LAYERNORM, "layernorm_bwd_params");
  p.extra_kernel = true;
  ocl_arg_mem(&p, MEM(a->dgamma));
  ocl_arg_int(&p, OFF(a->dgamma));
  ocl_arg_mem(&p, MEM(a->dbeta));
  ocl_arg_int(&p, OFF(a->dbeta));
  ocl_arg_mem(&p, MEM(a->dy));
  ocl_arg_int(&p, OFF(a->dy));
  ocl_arg_mem(&p, MEM(a->x));
  ocl_arg_int(&p, OFF(a->x));
  ocl_arg_mem(&p, MEM(a->mean));
  ocl_arg_int(&p, OFF(a->mean));
  ocl_arg_mem(&p, MEM(a->rstd));
  ocl_arg_int(&p, OFF(a->rstd));
  ocl_arg_int(&p, (int)a->rows);
  ocl_arg_int(&p, (int)a->n);
  return run_1d(&p, PORTA_OP_LAYERNORM_BWD, a->n);
}

porta_status ocl_embedding(porta_backend *base, const porta_embedding_args *a) {
  ocl_backend *be = (ocl_backend *)base;
  if (!ocl_fits_int(a->n_ids * a->dim) || !ocl_fits_int(a->vocab * a->dim))
    return ocl_fail(be, PORTA_ERR_UNSUPPORTED, "embedding: too large for 32-bit indexing");
  ocl_launch l;
  ocl_launch_begin(&l, be, OCL_PROG_EMBEDDING, "embedding_fwd");
  ocl_arg_mem(&l, MEM(a->out));
  ocl_arg_int(&l, OFF(a->out));
  ocl_arg_mem(&l, MEM(a->table));
  ocl_arg_int(&l, OFF(a->table));
  ocl_arg_mem(&l, MEM(a->ids));
  ocl_arg_int(&l, OFF(a->ids));
  ocl_arg_int(&l, (int)a->n_ids);
  ocl_arg_int(&l, (int)a->dim);
  ocl_arg_int(&l, (int)a->vocab);
  return run_1d(&l, PORTA_OP_EMBEDDING, a->n_ids * a->dim);
}

porta_status ocl_embedding_bwd(porta_backend *base, const porta_embedding_bwd_args *a) {
  ocl_backend *be = (ocl_backend *)base;
  if (!ocl_fits_int(a->n_ids * a->dim) || !ocl_fits_int(a->vocab * a->dim))
    return ocl_fail(be, PORTA_ERR_UNSUPPORTED, "embedding_bwd: too large for 32-bit indexing");
  if (a->n_ids == 0) return PORTA_OK;
  ocl_launch l;
  ocl_launch_begin(&l, be, OCL_PROG_EMBEDDING, "embedding_bwd");
  ocl_arg_mem(&l, MEM(a->dtable));
  ocl_arg_int(&l, OFF(a->dtable));
  ocl_arg_mem(&l, MEM(a->dout));
  ocl_arg_int(&l, OFF(a->dout));
  ocl_arg_mem(&l, MEM(a->ids));
  ocl_arg_int(&l, OFF(a->ids));
  ocl_arg_int(&l, (int)a->n_ids);
  ocl_arg_int(&l, (int)a->dim);
  ocl_arg_int(&l, (int)a->vocab);
  return run_1d(&l, PORTA_OP_EMBEDDING_BWD, a->dim);
}

porta_status ocl_dropout(porta_backend *base, const porta_dropout_args *a) {
  ocl_backend *be = (ocl_backend *)base;
  if (!ocl_fits_int(a->n)) return ocl_fail(be, PORTA_ERR_UNSUPPORTED, "dropout: n too large");
  float scale = 1.0f / (1.0f - a->p);
  ocl_launch l;
  bool vec16 = be->base.info.is_cpu;
  ocl_launch_begin(&l, be, OCL_PROG_DROPOUT, vec16 ? "dropout_fwd16" : "dropout_fwd");
  ocl_arg_mem(&l, MEM(a->out));
  ocl_arg_int(&l, OFF(a->out));
  ocl_arg_mem(&l, MEM(a->x));
  ocl_arg_int(&l, OFF(a->x));
  ocl_arg_int(&l, (int)a->n);
  ocl_arg_float(&l, a->p);
  ocl_arg_float(&l, scale);
  ocl_arg_ulong(&l, a->seed);
  ocl_arg_ulong(&l, a->stream);
  ocl_arg_ulong(&l, a->base);
  return run_1d(&l, PORTA_OP_DROPOUT, vec16 ? (a->n + 15) / 16 : a->n);
}

porta_status ocl_cross_entropy(porta_backend *base, const porta_cross_entropy_args *a) {
  ocl_backend *be = (ocl_backend *)base;
  if (!ocl_fits_int(a->batch * a->classes))
    return ocl_fail(be, PORTA_ERR_UNSUPPORTED, "cross_entropy: too large for 32-bit indexing");
  cl_mem row_loss = NULL;
  porta_status st =
      ocl_scratch(be, (size_t)(a->batch > 0 ? a->batch : 1) * sizeof(float), &row_loss);
  if (st != PORTA_OK) return st;
  ocl_launch l;
  ocl_launch_begin(&l, be, OCL_PROG_SOFTMAX, "cross_entropy_rows");
  size_t wg = ocl_launch_row_wg(&l);
  ocl_arg_mem(&l, MEM(a->probs));
  ocl_arg_int(&l, OFF(a->probs));
  ocl_arg_mem(&l, MEM(a->logits));
  ocl_arg_int(&l, OFF(a->logits));
  ocl_arg_mem(&l, MEM(a->labels));
  ocl_arg_int(&l, OFF(a->labels));
  ocl_arg_mem(&l, row_loss);
  ocl_arg_int(&l, (int)a->classes);
  ocl_arg_local(&l, wg * sizeof(float));
  st = run_rows(&l, PORTA_OP_CROSS_ENTROPY, a->batch, wg);
  if (st != PORTA_OK) return st;
  ocl_launch t;
  ocl_launch_begin(&t, be, OCL_PROG_SOFTMAX, "cross_entropy_total");
  t.extra_kernel = true;
  wg = ocl_launch_row_wg(&t);
  ocl_arg_mem(&t, MEM(a->loss));
  ocl_arg_int(&t, OFF(a->loss));
  ocl_arg_mem(&t, row_loss);
  ocl_arg_mem(&t, MEM(a->labels));
  ocl_arg_int(&t, OFF(a->labels));
  ocl_arg_int(&t, (int)a->batch);
  ocl_arg_int(&t, (int)a->classes);
  ocl_arg_local(&t, wg * sizeof(float));
  return run_rows(&t, PORTA_OP_CROSS_ENTROPY, 1, wg);
}

porta_status ocl_cross_entropy_bwd(porta_backend *base, const porta_cross_entropy_bwd_args *a) {
  ocl_backend *be = (ocl_backend *)base;
  if (!ocl_fits_int(a->batch * a->classes))
    return ocl_fail(be, PORTA_ERR_UNSUPPORTED, "cross_entropy_bwd: too large for 32-bit indexing");
  cl_mem count = NULL;
  porta_status st = ocl_scratch(be, sizeof(float), &count);
  if (st != PORTA_OK) return st;
  ocl_launch c;
  ocl_launch_begin(&c, be, OCL_PROG_SOFTMAX, "cross_entropy_count");
  size_t wg = ocl_launch_row_wg(&c);
  ocl_arg_mem(&c, count);
  ocl_arg_mem(&c, MEM(a->labels));
  ocl_arg_int(&c, OFF(a->labels));
  ocl_arg_int(&c, (int)a->batch);
  ocl_arg_int(&c, (int)a->classes);
  ocl_arg_local(&c, wg * sizeof(float));
  st = run_rows(&c, PORTA_OP_CROSS_ENTROPY_BWD, 1, wg);
  if (st != PORTA_OK) return st;
  ocl_launch l;
  ocl_launch_begin(&l, be, OCL_PROG_SOFTMAX, "cross_entropy_bwd");
  l.extra_kernel = true;
  ocl_arg_mem(&l, MEM(a->dlogits));
  ocl_arg_int(&l, OFF(a->dlogits));
  ocl_arg_mem(&l, MEM(a->probs));
  ocl_arg_int(&l, OFF(a->probs));
  ocl_arg_mem(&l, MEM(a->labels));
  ocl_arg_int(&l, OFF(a->labels));
  ocl_arg_mem(&l, MEM(a->dloss));
  ocl_arg_int(&l, OFF(a->dloss));
  ocl_arg_mem(&l, count);
  ocl_arg_int(&l, (int)a->batch);
  ocl_arg_int(&l, (int)a->classes);
  return run_1d(&l, PORTA_OP_CROSS_ENTROPY_BWD, a->batch * a->classes);
}

porta_status ocl_adamw(porta_backend *base, const porta_adamw_args *a) {
  ocl_backend *be = (ocl_backend *)base;
  if (!ocl_fits_int(a->n)) return ocl_fail(be, PORTA_ERR_UNSUPPORTED, "adamw: n too large");
  ocl_launch l;
  bool vec16 = be->base.info.is_cpu; /* 16 elements a work-item on CPU drivers */
  ocl_launch_begin(&l, be, OCL_PROG_ADAMW, vec16 ? "adamw_step16" : "adamw_step");
  ocl_arg_mem(&l, MEM(a->param));
  ocl_arg_int(&l, OFF(a->param));
  ocl_arg_mem(&l, MEM(a->grad));
  ocl_arg_int(&l, OFF(a->grad));
  ocl_arg_mem(&l, MEM(a->m));
  ocl_arg_int(&l, OFF(a->m));
  ocl_arg_mem(&l, MEM(a->v));
  ocl_arg_int(&l, OFF(a->v));
  ocl_arg_int(&l, (int)a->n);
  /* The step's factors rounded from doubles, as porta_adamw_args describes. */
  ocl_arg_float(&l, (float)(1.0 - a->lr * a->weight_decay));
  ocl_arg_float(&l, (float)(1.0 - a->beta1));
  ocl_arg_float(&l, (float)a->beta2);
  ocl_arg_float(&l, (float)(1.0 - a->beta2));
  ocl_arg_float(&l, (float)a->eps);
  ocl_arg_float(&l, (float)(a->lr / a->bias_correction1));
  ocl_arg_float(&l, (float)sqrt(a->bias_correction2));
  ocl_arg_float(&l, a->grad_scale != 0.0f ? a->grad_scale : 1.0f);
  return run_1d(&l, PORTA_OP_ADAMW, vec16 ? (a->n + 15) / 16 : a->n);
}

porta_status ocl_sumsq(porta_backend *base, const porta_sumsq_args *a) {
  ocl_backend *be = (ocl_backend *)base;
  if (!ocl_fits_int(a->n)) return ocl_fail(be, PORTA_ERR_UNSUPPORTED, "sumsq: n too large");
  cl_mem partial = NULL;
  int64_t groups;
  porta_status st;
  if (be->base.info.is_cpu) {
    /* CPU devices: up to 64 work-items, each a contiguous chunk summed as float16 vectors. */
    groups = (a->n + 16383) / 16384;
    if (groups > 64) groups = 64;
    if (groups < 1) groups = 1;
    int64_t chunk = ((a->n + groups - 1) / groups + 15) / 16 * 16;
    st = ocl_scratch(be, (size_t)groups * sizeof(float), &partial);
    if (st != PORTA_OK) return st;
    ocl_launch l;
    ocl_launch_begin(&l, be, OCL_PROG_REDUCE, "sumsq_chunks");
    ocl_arg_mem(&l, partial);
    ocl_arg_mem(&l, MEM(a->x));
    ocl_arg_int(&l, OFF(a->x));
    ocl_arg_int(&l, (int)a->n);
    ocl_arg_int(&l, (int)(chunk > 0x7fffffff ? 0x7fffffff : chunk));
    ocl_arg_int(&l, (int)groups);
    size_t global = (size_t)groups, local = 1;
    st = ocl_launch_run(&l, PORTA_OP_SUMSQ, 1, &global, &local);
  } else {
    /* GPUs: work-group g and its work-items stride over the whole range (coalesced loads). */
    ocl_launch l;
    ocl_launch_begin(&l, be, OCL_PROG_REDUCE, "sumsq_partial");
    size_t wg = ocl_launch_row_wg(&l);
    groups = (a->n + (int64_t)wg - 1) / (int64_t)wg;
    int64_t max_groups =
        4 * (int64_t)(be->base.info.compute_units > 0 ? be->base.info.compute_units : 1);
    if (max_groups > 256) max_groups = 256;
    if (groups > max_groups) groups = max_groups;
    if (groups < 1) groups = 1;
    st = ocl_scratch(be, (size_t)groups * sizeof(float), &partial);
    if (st != PORTA_OK) return st;
    ocl_arg_mem(&l, partial);
    ocl_arg_mem(&l, MEM(a->x));
    ocl_arg_int(&l, OFF(a->x));
    ocl_arg_int(&l, (int)a->n);
    ocl_arg_local(&l, wg * sizeof(float));
    st = run_rows(&l, PORTA_OP_SUMSQ, groups, wg);
  }
  if (st != PORTA_OK) return st;
  ocl_launch f;
  ocl_launch_begin(&f, be, OCL_PROG_REDUCE, "sumsq_final");
  f.extra_kernel = true;
  size_t wg2 = ocl_launch_row_wg(&f);
  ocl_arg_mem(&f, MEM(a->out));
  ocl_arg_int(&f, OFF(a->out));
  ocl_arg_mem(&f, partial);
  ocl_arg_int(&f, (int)groups);
  ocl_arg_int(&f, a->accumulate ? 1 : 0);
  ocl_arg_local(&f, wg2 * sizeof(float));
  return run_rows(&f, PORTA_OP_SUMSQ, 1, wg2);
}
