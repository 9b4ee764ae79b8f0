/* OpenCL profiling (events timed per op) and the compute-bound probe of `porta bench`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/opencl/ocl_internal.h"

/* ---- profiling ------------------------------------------------------------------------------- */

/* Waits for the pending events and adds their device time to the totals. */
static void profile_drain(ocl_backend *be) {
  if (be->pending_count == 0) return;
  cl_event events[OCL_PROFILE_PENDING_MAX];
  for (int i = 0; i < be->pending_count; i++) events[i] = be->pending[i].event;
  clWaitForEvents((cl_uint)be->pending_count, events);
  for (int i = 0; i < be->pending_count; i++) {
    cl_ulong start = 0, end = 0;
    clGetEventProfilingInfo(events[i], CL_PROFILING_COMMAND_START, sizeof start, &start, NULL);
    clGetEventProfilingInfo(events[i], CL_PROFILING_COMMAND_END, sizeof end, &end, NULL);
    porta_op op = be->pending[i].op;
    if (end > start) be->prof_ns[op] += end - start;
    if (be->pending[i].counts_call) be->prof_calls[op]++;
    clReleaseEvent(events[i]);
  }
  be->pending_count = 0;
}

void ocl_profile_add(ocl_backend *be, porta_op op, cl_event event, bool counts_call) {
  if (!be->profiling) {
    clReleaseEvent(event);
    return;
  }
  /* A full list is timed now (waiting for the device): profiling costs some overlap. */
  if (be->pending_count == OCL_PROFILE_PENDING_MAX) profile_drain(be);
  be->pending[be->pending_count++] = (ocl_pending_event){event, op, counts_call};
}

void ocl_profile_enable(porta_backend *base, bool on) {
  ocl_backend *be = (ocl_backend *)base;
  profile_drain(be);
  if (on && !be->profiling) {
    memset(be->prof_ns, 0, sizeof be->prof_ns);
    memset(be->prof_calls, 0, sizeof be->prof_calls);
  }
  be->profiling = on;
}

porta_status ocl_profile_read(porta_backend *base, uint64_t ns_per_op[PORTA_OP_COUNT],
                              uint64_t calls_per_op[PORTA_OP_COUNT]) {
  ocl_backend *be = (ocl_backend *)base;
  cl_int rc = clFinish(be->queue);
  if (rc != CL_SUCCESS) return ocl_fail_cl(be, rc, "clFinish");
  profile_drain(be);
  for (int i = 0; i < PORTA_OP_COUNT; i++) {
    ns_per_op[i] = be->prof_ns[i];
    calls_per_op[i] = be->prof_calls[i];
  }
  return PORTA_OK;
}

/* ---- bench ----------------------------------------------------------------------------------- */

porta_status ocl_bench_fma(porta_backend *base, porta_ref out, int64_t n, int iters) {
  ocl_backend *be = (ocl_backend *)base;
  if (n < 0 || iters < 0 || !ocl_fits_int(n))
    return ocl_fail(be, PORTA_ERR_INVALID_ARGUMENT, "opencl bench_fma: n = %lld, iters = %d",
                    (long long)n, iters);
  ocl_launch l;
  ocl_launch_begin(&l, be, OCL_PROG_BENCH, "bench_fma");
  ocl_arg_mem(&l, (cl_mem)out.buf);
  ocl_arg_int(&l, (int)out.off);
  ocl_arg_int(&l, (int)n);
  ocl_arg_int(&l, iters);
  size_t global = (size_t)(n + 7) / 8, local = ocl_launch_elem_wg(&l); /* 8 items a work-item */
  return ocl_launch_run(&l, PORTA_OP_COUNT, 1, &global, &local);
}
