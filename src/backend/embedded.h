/* Files embedded at build time (cmake/embed.cmake): OpenCL C sources and SPIR-V modules, owned by
 * the backend layer. Nothing is read from the source tree at run time. */
#ifndef PORTA_BACKEND_EMBEDDED_H
#define PORTA_BACKEND_EMBEDDED_H

#include <stddef.h>
#include <string.h>

typedef struct porta_embedded_file {
  const char *name; /* base name, e.g. "gemm.cl", "softmax.spv" */
  const unsigned char *data;
  size_t size; /* bytes, without the NUL that follows text */
} porta_embedded_file;

extern const porta_embedded_file porta_embedded_kernels[]; /* kernels/<name>.cl, NULL-terminated */
extern const porta_embedded_file porta_embedded_shaders[]; /* shaders/<name>.comp as <name>.spv */

static inline const porta_embedded_file *porta_embedded_find(const porta_embedded_file *table,
                                                             const char *name) {
  for (; table && table->name; table++)
    if (strcmp(table->name, name) == 0) return table;
  return NULL;
}

#endif
