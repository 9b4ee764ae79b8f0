/* The backend registry: which backends this build has, and how to open each. The only place
 * that names the backends (behind the PORTA_HAVE_* build switches); the core looks them up by
 * kind. A new backend adds its entry here (see docs/architecture.md). */
#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"

static porta_status cpu_create(porta_backend **out, const porta_backend_options *o, char *err,
                               size_t err_size) {
  if (o->reference)
    return porta_cpu_backend_create_ex(out, o->device, o->num_threads, true, err, err_size);
  return porta_cpu_backend_create(out, o->device, o->num_threads, err, err_size);
}

#ifdef PORTA_HAVE_OPENCL
static porta_status opencl_create(porta_backend **out, const porta_backend_options *o, char *err,
                                  size_t err_size) {
  return porta_opencl_backend_create(out, o->device, err, err_size);
}
#endif

#ifdef PORTA_HAVE_VULKAN
static porta_status vulkan_create(porta_backend **out, const porta_backend_options *o, char *err,
                                  size_t err_size) {
  return porta_vulkan_backend_create(out, o->device, err, err_size);
}
#endif

static const porta_backend_entry registry[] = {
    {PORTA_BACKEND_CPU, "cpu", cpu_create, porta_cpu_list_devices},
#ifdef PORTA_HAVE_OPENCL
    {PORTA_BACKEND_OPENCL, "opencl", opencl_create, porta_opencl_list_devices},
#endif
#ifdef PORTA_HAVE_VULKAN
    {PORTA_BACKEND_VULKAN, "vulkan", vulkan_create, porta_vulkan_list_devices},
#endif
};

const porta_backend_entry *porta_backend_lookup(porta_backend_kind kind) {
  for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
    if (registry[i].kind == kind) return &registry[i];
  return NULL;
}
