/* Placeholder until the Vulkan backend lands: reports that no Vulkan device is available. */
#include <stdio.h>

#include "backend/backend.h"

porta_status porta_vulkan_backend_create(porta_backend **out, int device, char *err,
                                         size_t err_size) {
  (void)device;
  if (out) *out = NULL;
  if (err && err_size) snprintf(err, err_size, "the Vulkan backend is not implemented yet");
  return PORTA_ERR_NO_DEVICE;
}

porta_status porta_vulkan_list_devices(porta_device_info *infos, int capacity, int *count,
                                       char *err, size_t err_size) {
  (void)infos;
  (void)capacity;
  if (count) *count = 0;
  if (err && err_size) snprintf(err, err_size, "the Vulkan backend is not implemented yet");
  return PORTA_ERR_NO_DEVICE;
}
