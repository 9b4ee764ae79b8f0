/* OpenCL kernel launches: a kernel's arguments collected with the first failure kept, work-group
 * sizes fitted to the device, the enqueue and its profiling event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/opencl/ocl_internal.h"

/* ---- kernel launches ------------------------------------------------------------------------- */

void ocl_launch_begin(ocl_launch *l, ocl_backend *be, ocl_program_id id, const char *name) {
  memset(l, 0, sizeof *l);
  l->be = be;
  l->name = name;
  for (int i = 0; i < be->kernel_count; i++) {
    if (strcmp(be->kernels[i].name, name) == 0) {
      l->kernel = be->kernels[i].kernel;
      l->max_wg = be->kernels[i].max_wg;
      return;
    }
  }
  cl_program program = NULL;
  l->status = ocl_program_get(be, id, &program);
  if (l->status != PORTA_OK) return;
  if (be->kernel_count == (int)(sizeof be->kernels / sizeof be->kernels[0])) {
    l->status = ocl_fail(be, PORTA_ERR_LIMIT, "too many OpenCL kernels (adding '%s')", name);
    return;
  }
  cl_int rc = CL_SUCCESS;
  cl_kernel kernel = clCreateKernel(program, name, &rc);
  if (rc != CL_SUCCESS) {
    char what[160];
    snprintf(what, sizeof what, "clCreateKernel('%s')", name);
    l->status = ocl_fail_cl(be, rc, what);
    return;
  }
  size_t max_wg = be->max_workgroup;
  clGetKernelWorkGroupInfo(kernel, be->device, CL_KERNEL_WORK_GROUP_SIZE, sizeof max_wg, &max_wg,
                           NULL);
  be->kernels[be->kernel_count].name = name;
  be->kernels[be->kernel_count].kernel = kernel;
  be->kernels[be->kernel_count].max_wg = max_wg;
  be->kernel_count++;
  l->kernel = kernel;
  l->max_wg = max_wg;
}

static size_t fit_wg(const ocl_launch *l, int want) {
  size_t wg = (size_t)want;
  while (wg > 1 && wg > l->max_wg) wg /= 2;
  return wg;
}

size_t ocl_launch_row_wg(const ocl_launch *l) { return fit_wg(l, l->be->row_wg); }
size_t ocl_launch_elem_wg(const ocl_launch *l) { return fit_wg(l, l->be->elem_wg); }

void ocl_launch_local_2d(const ocl_launch *l, size_t want_x, size_t want_y, size_t local[3]) {
  local[0] = want_x, local[1] = want_y, local[2] = 1;
  while (local[0] * local[1] > l->max_wg && (local[0] > 1 || local[1] > 1)) {
    if (local[0] >= local[1])
      local[0] = (local[0] + 1) / 2;
    else
      local[1] = (local[1] + 1) / 2;
  }
}

static void set_arg(ocl_launch *l, size_t size, const void *value) {
  if (l->status != PORTA_OK || l->err != CL_SUCCESS) return;
  l->err = clSetKernelArg(l->kernel, l->next_arg, size, value);
  l->next_arg++;
}

void ocl_arg_mem(ocl_launch *l, cl_mem mem) { set_arg(l, sizeof mem, &mem); }
void ocl_arg_int(ocl_launch *l, int v) {
  cl_int x = v;
  set_arg(l, sizeof x, &x);
}
void ocl_arg_uint(ocl_launch *l, unsigned v) {
  cl_uint x = v;
  set_arg(l, sizeof x, &x);
}
void ocl_arg_ulong(ocl_launch *l, uint64_t v) {
  cl_ulong x = v;
  set_arg(l, sizeof x, &x);
}
void ocl_arg_float(ocl_launch *l, float v) {
  cl_float x = v;
  set_arg(l, sizeof x, &x);
}
void ocl_arg_int4(ocl_launch *l, const int v[4]) {
  cl_int4 x;
  for (int i = 0; i < 4; i++) x.s[i] = v[i];
  set_arg(l, sizeof x, &x);
}
void ocl_arg_local(ocl_launch *l, size_t bytes) { set_arg(l, bytes, NULL); }

porta_status ocl_launch_run(ocl_launch *l, porta_op op, cl_uint dims, const size_t *global,
                            const size_t *local) {
  ocl_backend *be = l->be;
  if (l->status != PORTA_OK) return l->status;
  char what[200];
  if (l->err != CL_SUCCESS) {
    snprintf(what, sizeof what, "clSetKernelArg(%s, arg %u)", l->name, l->next_arg - 1);
    return ocl_fail_cl(be, l->err, what);
  }
  size_t rounded[3];
  for (cl_uint d = 0; d < dims; d++) {
    if (global[d] == 0) return PORTA_OK;
    rounded[d] = local ? ocl_round_up(global[d], local[d]) : global[d];
  }
  cl_event event = NULL;
  bool timed = ocl_profiling(be) && op < PORTA_OP_COUNT;
  cl_int rc = clEnqueueNDRangeKernel(be->queue, l->kernel, dims, NULL, rounded, local, 0, NULL,
                                     timed ? &event : NULL);
  if (rc != CL_SUCCESS) {
    snprintf(what, sizeof what, "clEnqueueNDRangeKernel(%s)", l->name);
    return ocl_fail_cl(be, rc, what);
  }
  if (event) ocl_profile_add(be, op, event, !l->extra_kernel);
  return PORTA_OK;
}
