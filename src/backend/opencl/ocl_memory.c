/* OpenCL buffers: cl_mem allocation, uploads through staging copies, downloads, copies, fills,
 * the backend's scratch buffer and synchronize. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/opencl/ocl_internal.h"

/* ---- buffers --------------------------------------------------------------------------------- */

porta_status ocl_alloc(porta_backend *base, size_t bytes, void **out) {
  ocl_backend *be = (ocl_backend *)base;
  *out = NULL;
  if (bytes > be->base.info.max_alloc_bytes)
    return ocl_fail(be, PORTA_ERR_DEVICE_MEMORY,
                    "clCreateBuffer of %zu bytes exceeds the device's largest allocation "
                    "(CL_DEVICE_MAX_MEM_ALLOC_SIZE = %llu bytes) on '%s'",
                    bytes, (unsigned long long)be->base.info.max_alloc_bytes, be->base.info.name);
  cl_int rc = CL_SUCCESS;
  cl_mem mem = clCreateBuffer(be->context, CL_MEM_READ_WRITE, bytes ? bytes : 4, NULL, &rc);
  if (rc != CL_SUCCESS) return ocl_fail_cl(be, rc, "clCreateBuffer");
  *out = mem;
  return PORTA_OK;
}

void ocl_free(porta_backend *base, void *buf) {
  (void)base;
  if (buf) clReleaseMemObject((cl_mem)buf); /* deferred by the driver until queued work ends */
}

static void CL_CALLBACK free_staging(cl_event event, cl_int status, void *data) {
  (void)event;
  (void)status;
  free(data);
}

/* Non-blocking: the host data is copied to a staging block that the driver's completion
 * callback frees, so the caller may reuse its memory at once and the host does not wait. */
porta_status ocl_upload(porta_backend *base, void *buf, size_t offset, const void *src,
                        size_t bytes) {
  ocl_backend *be = (ocl_backend *)base;
  if (bytes == 0) return PORTA_OK;
  void *staging = malloc(bytes);
  if (!staging)
    return ocl_fail(be, PORTA_ERR_OUT_OF_MEMORY, "upload: no host memory for %zu bytes", bytes);
  memcpy(staging, src, bytes);
  cl_event event = NULL;
  cl_int rc = clEnqueueWriteBuffer(be->queue, (cl_mem)buf, CL_FALSE, offset, bytes, staging, 0,
                                   NULL, &event);
  if (rc != CL_SUCCESS) {
    free(staging);
    return ocl_fail_cl(be, rc, "clEnqueueWriteBuffer");
  }
  rc = clSetEventCallback(event, CL_COMPLETE, free_staging, staging);
  if (rc != CL_SUCCESS) { /* cannot hand the block to the driver: wait, then free it */
    clWaitForEvents(1, &event);
    free(staging);
  }
  clReleaseEvent(event);
  return PORTA_OK;
}

porta_status ocl_download(porta_backend *base, void *buf, size_t offset, void *dst, size_t bytes) {
  ocl_backend *be = (ocl_backend *)base;
  if (bytes == 0) return PORTA_OK;
  cl_int rc =
      clEnqueueReadBuffer(be->queue, (cl_mem)buf, CL_TRUE, offset, bytes, dst, 0, NULL, NULL);
  if (rc != CL_SUCCESS) return ocl_fail_cl(be, rc, "clEnqueueReadBuffer");
  return PORTA_OK;
}

porta_status ocl_copy(porta_backend *base, void *dst, size_t dst_offset, void *src,
                      size_t src_offset, size_t bytes) {
  ocl_backend *be = (ocl_backend *)base;
  if (bytes == 0) return PORTA_OK;
  /* Buffer commands are not ops: the profile has no row for them. */
  cl_int rc = clEnqueueCopyBuffer(be->queue, (cl_mem)src, (cl_mem)dst, src_offset, dst_offset,
                                  bytes, 0, NULL, NULL);
  if (rc != CL_SUCCESS) return ocl_fail_cl(be, rc, "clEnqueueCopyBuffer");
  return PORTA_OK;
}

porta_status ocl_fill(porta_backend *base, porta_ref out, int64_t n, float value) {
  ocl_backend *be = (ocl_backend *)base;
  if (n <= 0) return PORTA_OK;
  cl_int rc = clEnqueueFillBuffer(be->queue, (cl_mem)out.buf, &value, sizeof value, out.off * 4,
                                  (size_t)n * 4, 0, NULL, NULL);
  if (rc != CL_SUCCESS) return ocl_fail_cl(be, rc, "clEnqueueFillBuffer");
  return PORTA_OK;
}

porta_status ocl_synchronize(porta_backend *base) {
  ocl_backend *be = (ocl_backend *)base;
  cl_int rc = clFinish(be->queue);
  if (rc != CL_SUCCESS) return ocl_fail_cl(be, rc, "clFinish");
  return PORTA_OK;
}

porta_status ocl_scratch(ocl_backend *be, size_t bytes, cl_mem *out) {
  if (bytes == 0) bytes = 4;
  if (be->scratch && be->scratch_bytes >= bytes) {
    *out = be->scratch;
    return PORTA_OK;
  }
  size_t want = bytes + bytes / 4; /* some slack against regrowing by a few bytes */
  if (want > be->base.info.max_alloc_bytes) want = bytes;
  cl_int rc = CL_SUCCESS;
  cl_mem mem = clCreateBuffer(be->context, CL_MEM_READ_WRITE, want, NULL, &rc);
  if (rc != CL_SUCCESS) return ocl_fail_cl(be, rc, "clCreateBuffer (scratch)");
  if (be->scratch) clReleaseMemObject(be->scratch); /* freed once queued users finish */
  be->scratch = mem;
  be->scratch_bytes = want;
  *out = mem;
  return PORTA_OK;
}
