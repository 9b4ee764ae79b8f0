/* Vulkan instance, device listing and creation, the validation messenger, destroy. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/vulkan/vk_internal.h"

const char *vk_result_name(VkResult r) {
  switch (r) {
#define CASE(x)                                                                                    \
  case x:                                                                                          \
    return #x;
    CASE(VK_SUCCESS)
    CASE(VK_NOT_READY)
    CASE(VK_TIMEOUT)
    CASE(VK_INCOMPLETE)
    CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
    CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    CASE(VK_ERROR_INITIALIZATION_FAILED)
    CASE(VK_ERROR_DEVICE_LOST)
    CASE(VK_ERROR_MEMORY_MAP_FAILED)
    CASE(VK_ERROR_LAYER_NOT_PRESENT)
    CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
    CASE(VK_ERROR_FEATURE_NOT_PRESENT)
    CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
    CASE(VK_ERROR_TOO_MANY_OBJECTS)
    CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
    CASE(VK_ERROR_FRAGMENTED_POOL)
    CASE(VK_ERROR_UNKNOWN)
    CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
    CASE(VK_ERROR_INVALID_EXTERNAL_HANDLE)
    CASE(VK_ERROR_FRAGMENTATION)
    CASE(VK_ERROR_INVALID_SHADER_NV)
#undef CASE
  default:
    return "VK_ERROR_(unknown)";
  }
}

static porta_status vk_vfail(vk_backend *be, porta_status status, const char *fmt, va_list ap) {
  vsnprintf(be->base.err, sizeof be->base.err, fmt, ap);
  return status;
}

porta_status vk_fail(vk_backend *be, porta_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vk_vfail(be, status, fmt, ap);
  va_end(ap);
  return status;
}

static porta_status status_of(VkResult r) {
  if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
    return PORTA_ERR_DEVICE_MEMORY;
  return PORTA_ERR_BACKEND;
}

porta_status vk_fail_result(vk_backend *be, VkResult r, const char *what) {
  return vk_fail(be, status_of(r), "vulkan: %s failed: %s (%d)", what, vk_result_name(r), (int)r);
}

int porta_vulkan_validation_errors(const porta_backend *be) {
  return ((const vk_backend *)be)->validation_errors;
}
int porta_vulkan_validation_warnings(const porta_backend *be) {
  return ((const vk_backend *)be)->validation_warnings;
}
const char *porta_vulkan_pipeline_cache_path(const porta_backend *be) {
  return ((const vk_backend *)be)->pipeline_cache_path;
}

/* ---- instance ---------------------------------------------------------------------------- */

/* Whether the loader (layer NULL) or a layer offers an instance extension. */
static bool has_layer_extension(const char *layer, const char *name) {
  uint32_t n = 0;
  if (vkEnumerateInstanceExtensionProperties(layer, &n, NULL) != VK_SUCCESS) return false;
  VkExtensionProperties *props = calloc(n ? n : 1, sizeof *props);
  if (!props) return false;
  bool found = false;
  if (vkEnumerateInstanceExtensionProperties(layer, &n, props) == VK_SUCCESS)
    for (uint32_t i = 0; i < n; i++)
      if (strcmp(props[i].extensionName, name) == 0) found = true;
  free(props);
  return found;
}

static bool has_instance_extension(const char *name) { return has_layer_extension(NULL, name); }

static bool has_layer(const char *name) {
  uint32_t n = 0;
  if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS) return false;
  VkLayerProperties *props = calloc(n ? n : 1, sizeof *props);
  if (!props) return false;
  bool found = false;
  if (vkEnumerateInstanceLayerProperties(&n, props) == VK_SUCCESS)
    for (uint32_t i = 0; i < n; i++)
      if (strcmp(props[i].layerName, name) == 0) found = true;
  free(props);
  return found;
}

static bool validation_requested(void) {
  const char *v = getenv("PORTA_VULKAN_VALIDATION");
  return v && v[0] && strcmp(v, "0") != 0;
}

static VKAPI_ATTR VkBool32 VKAPI_CALL on_debug_message(
    VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT types,
    const VkDebugUtilsMessengerCallbackDataEXT *data, void *user) {
  vk_backend *be = user;
  const char *kind = "info";
  if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) {
    be->validation_errors++;
    kind = "error";
  } else if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
    be->validation_warnings++;
    kind = "warning";
  }
  /* The prefix is what tests/vulkan.cmake's FAIL_REGULAR_EXPRESSION looks for. */
  fprintf(stderr, "porta vulkan validation %s: %s\n", kind,
          data && data->pMessage ? data->pMessage : "");
  return VK_FALSE;
}

/* Creates the instance: Vulkan 1.1, portability enumeration when present (MoltenVK), the
 * validation layer + messenger when asked for. `be` may be NULL (listing: no messenger). */
static porta_status create_instance(VkInstance *out, vk_backend *be, char *err, size_t err_size) {
  *out = VK_NULL_HANDLE;
  uint32_t api = VK_API_VERSION_1_0;
  if (vkEnumerateInstanceVersion(&api) != VK_SUCCESS || api < VK_API_VERSION_1_1) {
    snprintf(err, err_size, "vulkan: the Vulkan loader supports only %u.%u; porta needs 1.1",
             VK_API_VERSION_MAJOR(api), VK_API_VERSION_MINOR(api));
    return PORTA_ERR_NO_DEVICE;
  }
  const char *exts[4];
  uint32_t n_exts = 0;
  VkInstanceCreateFlags flags = 0;
  if (has_instance_extension(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
    exts[n_exts++] = VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME;
    flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
  }
  const char *layers[1];
  uint32_t n_layers = 0;
  bool validate = be && validation_requested();
  if (validate) {
    if (!has_layer("VK_LAYER_KHRONOS_validation")) {
      snprintf(err, err_size,
               "vulkan: PORTA_VULKAN_VALIDATION=1 but VK_LAYER_KHRONOS_validation is not installed "
               "(Debian: apt install vulkan-validationlayers)");
      return PORTA_ERR_BACKEND;
    }
    if (!has_instance_extension(VK_EXT_DEBUG_UTILS_EXTENSION_NAME)) {
      snprintf(err, err_size, "vulkan: validation needs %s, which the loader lacks",
               VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
      return PORTA_ERR_BACKEND;
    }
    layers[n_layers++] = "VK_LAYER_KHRONOS_validation";
    exts[n_exts++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
  }
  /* Synchronization validation too: it checks the barriers between dispatches and copies. */
  bool sync_checks = validate && has_layer_extension("VK_LAYER_KHRONOS_validation",
                                                     VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
  if (sync_checks) exts[n_exts++] = VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME;
  VkApplicationInfo app = {
      .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
      .pApplicationName = "porta",
      .pEngineName = "porta",
      .apiVersion = VK_API_VERSION_1_1,
  };
  VkDebugUtilsMessengerCreateInfoEXT dbg = {
      .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
      .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                         VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
      .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
      .pfnUserCallback = on_debug_message,
      .pUserData = be,
  };
  VkValidationFeatureEnableEXT enables[1] = {
      VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
  VkValidationFeaturesEXT features = {
      .sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
      .pNext = &dbg,
      .enabledValidationFeatureCount = 1,
      .pEnabledValidationFeatures = enables,
  };
  VkInstanceCreateInfo info = {
      .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
      /* the messenger in pNext also reports on vkCreate/DestroyInstance */
      .pNext = sync_checks ? (const void *)&features
               : validate  ? (const void *)&dbg
                           : NULL,
      .flags = flags,
      .pApplicationInfo = &app,
      .enabledLayerCount = n_layers,
      .ppEnabledLayerNames = layers,
      .enabledExtensionCount = n_exts,
      .ppEnabledExtensionNames = exts,
  };
  VkResult r = vkCreateInstance(&info, NULL, out);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_INITIALIZATION_FAILED) {
    snprintf(err, err_size, "vulkan: no Vulkan driver found (vkCreateInstance: %s)",
             vk_result_name(r));
    *out = VK_NULL_HANDLE;
    return PORTA_ERR_NO_DEVICE;
  }
  if (r != VK_SUCCESS) {
    snprintf(err, err_size, "vulkan: vkCreateInstance failed: %s (%d)", vk_result_name(r), (int)r);
    *out = VK_NULL_HANDLE;
    return status_of(r);
  }
  if (validate) {
    PFN_vkCreateDebugUtilsMessengerEXT create_messenger =
        (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(*out,
                                                                  "vkCreateDebugUtilsMessengerEXT");
    r = create_messenger ? create_messenger(*out, &dbg, NULL, &be->messenger)
                         : VK_ERROR_EXTENSION_NOT_PRESENT;
    if (r != VK_SUCCESS) {
      snprintf(err, err_size, "vulkan: vkCreateDebugUtilsMessengerEXT failed: %s",
               vk_result_name(r));
      vkDestroyInstance(*out, NULL);
      *out = VK_NULL_HANDLE;
      return PORTA_ERR_BACKEND;
    }
  }
  return PORTA_OK;
}

/* The physical devices (malloc'd array) or PORTA_ERR_NO_DEVICE when there are none. */
static porta_status physical_devices(VkInstance instance, VkPhysicalDevice **out, uint32_t *count,
                                     char *err, size_t err_size) {
  *out = NULL;
  *count = 0;
  uint32_t n = 0;
  VkResult r = vkEnumeratePhysicalDevices(instance, &n, NULL);
  if (r != VK_SUCCESS) {
    snprintf(err, err_size, "vulkan: vkEnumeratePhysicalDevices failed: %s", vk_result_name(r));
    return PORTA_ERR_NO_DEVICE;
  }
  if (n == 0) {
    snprintf(err, err_size, "vulkan: the Vulkan driver reports no devices");
    return PORTA_ERR_NO_DEVICE;
  }
  VkPhysicalDevice *devs = calloc(n, sizeof *devs);
  if (!devs) {
    snprintf(err, err_size, "vulkan: out of host memory listing devices");
    return PORTA_ERR_OUT_OF_MEMORY;
  }
  r = vkEnumeratePhysicalDevices(instance, &n, devs);
  if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
    free(devs);
    snprintf(err, err_size, "vulkan: vkEnumeratePhysicalDevices failed: %s", vk_result_name(r));
    return PORTA_ERR_NO_DEVICE;
  }
  *out = devs;
  *count = n;
  return PORTA_OK;
}

static bool has_device_extension(VkPhysicalDevice dev, const char *name) {
  uint32_t n = 0;
  if (vkEnumerateDeviceExtensionProperties(dev, NULL, &n, NULL) != VK_SUCCESS) return false;
  VkExtensionProperties *props = calloc(n ? n : 1, sizeof *props);
  if (!props) return false;
  bool found = false;
  if (vkEnumerateDeviceExtensionProperties(dev, NULL, &n, props) == VK_SUCCESS)
    for (uint32_t i = 0; i < n; i++)
      if (strcmp(props[i].extensionName, name) == 0) found = true;
  free(props);
  return found;
}

static const char *vendor_name(uint32_t id) {
  switch (id) {
  case 0x1002:
    return "AMD";
  case 0x10DE:
    return "NVIDIA";
  case 0x8086:
    return "Intel";
  case 0x13B5:
    return "ARM";
  case 0x5143:
    return "Qualcomm";
  case 0x106B:
    return "Apple";
  case 0x1010:
    return "Imagination";
  case 0x10005:
    return "Mesa";
  default:
    return NULL;
  }
}

static void describe_device(VkPhysicalDevice dev, int index, porta_device_info *info) {
  memset(info, 0, sizeof *info);
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(dev, &props);
  bool v12 = props.apiVersion >= VK_API_VERSION_1_2;
  bool has_driver_props = v12 || has_device_extension(dev, "VK_KHR_driver_properties");
  bool has_f16i8 = v12 || has_device_extension(dev, "VK_KHR_shader_float16_int8");

  VkPhysicalDeviceDriverProperties driver = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  VkPhysicalDeviceSubgroupProperties subgroup = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES,
      .pNext = has_driver_props ? &driver : NULL};
  VkPhysicalDeviceProperties2 props2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                        .pNext = &subgroup};
  vkGetPhysicalDeviceProperties2(dev, &props2);

  VkPhysicalDeviceShaderFloat16Int8Features f16i8 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  VkPhysicalDeviceFeatures2 feats = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                     .pNext = has_f16i8 ? &f16i8 : NULL};
  vkGetPhysicalDeviceFeatures2(dev, &feats);

  info->backend = PORTA_BACKEND_VULKAN;
  info->index = index;
  snprintf(info->name, sizeof info->name, "%s", props.deviceName);
  const char *vendor = vendor_name(props.vendorID);
  if (vendor)
    snprintf(info->vendor, sizeof info->vendor, "%s", vendor);
  else
    snprintf(info->vendor, sizeof info->vendor, "0x%04x", props.vendorID);
  if (has_driver_props)
    snprintf(info->driver, sizeof info->driver, "%.40s %.60s (0x%x)", driver.driverName,
             driver.driverInfo, props.driverVersion);
  else
    snprintf(info->driver, sizeof info->driver, "0x%x", props.driverVersion);
  snprintf(info->api_version, sizeof info->api_version, "Vulkan %u.%u.%u",
           VK_API_VERSION_MAJOR(props.apiVersion), VK_API_VERSION_MINOR(props.apiVersion),
           VK_API_VERSION_PATCH(props.apiVersion));

  VkPhysicalDeviceMemoryProperties mem;
  vkGetPhysicalDeviceMemoryProperties(dev, &mem);
  size_t pos = 0;
  pos += snprintf(info->extra + pos, sizeof info->extra - pos, "heaps:");
  for (uint32_t h = 0; h < mem.memoryHeapCount && pos < sizeof info->extra; h++) {
    bool local = mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT;
    if (local) info->global_mem_bytes += mem.memoryHeaps[h].size;
    pos +=
        snprintf(info->extra + pos, sizeof info->extra - pos, " %u=%llu MiB%s", h,
                 (unsigned long long)(mem.memoryHeaps[h].size >> 20), local ? " device-local" : "");
  }
  if (pos < sizeof info->extra)
    snprintf(info->extra + pos, sizeof info->extra - pos,
             "; maxMemoryAllocationCount=%u; minStorageBufferOffsetAlignment=%llu; "
             "maxComputeSharedMemorySize=%u; timestampPeriod=%g",
             props.limits.maxMemoryAllocationCount,
             (unsigned long long)props.limits.minStorageBufferOffsetAlignment,
             props.limits.maxComputeSharedMemorySize, (double)props.limits.timestampPeriod);
  info->max_alloc_bytes = props.limits.maxStorageBufferRange;
  info->compute_units = 0; /* Vulkan does not say */
  info->max_workgroup_size = (int)props.limits.maxComputeWorkGroupInvocations;
  info->subgroup_size = (int)subgroup.subgroupSize;
  info->fp16 = has_f16i8 && f16i8.shaderFloat16;
  info->int8 = has_f16i8 && f16i8.shaderInt8;
  info->is_cpu = props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
  info->is_discrete = props.deviceType == VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
}

porta_status porta_vulkan_list_devices(porta_device_info *infos, int capacity, int *count,
                                       char *err, size_t err_size) {
  char scratch[8];
  if (!err) {
    err = scratch;
    err_size = sizeof scratch;
  }
  if (count) *count = 0;
  VkInstance instance;
  porta_status st = create_instance(&instance, NULL, err, err_size);
  if (st != PORTA_OK) return st;
  VkPhysicalDevice *devs;
  uint32_t n;
  st = physical_devices(instance, &devs, &n, err, err_size);
  if (st == PORTA_OK) {
    for (uint32_t i = 0; i < n && (int)i < capacity; i++)
      if (infos) describe_device(devs[i], (int)i, &infos[i]);
    if (count) *count = (int)n;
    free(devs);
  }
  vkDestroyInstance(instance, NULL);
  return st;
}

/* ---- backend ----------------------------------------------------------------------------- */

static void vk_destroy(porta_backend *base) {
  vk_backend *be = (vk_backend *)base;
  if (!be) return;
  if (be->device) {
    vkDeviceWaitIdle(be->device);
    vk_exec_destroy(be);
    vk_pipeline_destroy(be);
    vk_memory_destroy(be);
    vkDestroyDevice(be->device, NULL);
  }
  if (be->messenger) {
    PFN_vkDestroyDebugUtilsMessengerEXT destroy_messenger =
        (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
            be->instance, "vkDestroyDebugUtilsMessengerEXT");
    if (destroy_messenger) destroy_messenger(be->instance, be->messenger, NULL);
  }
  if (be->validation_errors || be->validation_warnings)
    fprintf(stderr, "porta vulkan validation summary: %d error(s), %d warning(s)\n",
            be->validation_errors, be->validation_warnings);
  if (be->instance) vkDestroyInstance(be->instance, NULL);
  free(be);
}

/* The queue family with compute (a compute-only one preferred: async-compute queues are fine). */
static bool pick_queue_family(VkPhysicalDevice dev, uint32_t *family, uint32_t *ts_bits) {
  uint32_t n = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(dev, &n, NULL);
  VkQueueFamilyProperties *fams = calloc(n ? n : 1, sizeof *fams);
  if (!fams) return false;
  vkGetPhysicalDeviceQueueFamilyProperties(dev, &n, fams);
  bool found = false;
  for (uint32_t i = 0; i < n && !found; i++)
    if (fams[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
      *family = i;
      *ts_bits = fams[i].timestampValidBits;
      found = true;
    }
  free(fams);
  return found;
}

porta_status porta_vulkan_backend_create(porta_backend **out, int device, char *err,
                                         size_t err_size) {
  char scratch[8];
  if (!err) {
    err = scratch;
    err_size = sizeof scratch;
  }
  if (out) *out = NULL;
  if (!out) {
    snprintf(err, err_size, "vulkan: porta_vulkan_backend_create: out is NULL");
    return PORTA_ERR_INVALID_ARGUMENT;
  }
  vk_backend *be = calloc(1, sizeof *be);
  if (!be) {
    snprintf(err, err_size, "vulkan: out of host memory");
    return PORTA_ERR_OUT_OF_MEMORY;
  }
  be->base.ops = &vk_backend_ops;
  be->base.kind = PORTA_BACKEND_VULKAN;
  porta_status st = create_instance(&be->instance, be, err, err_size);
  if (st != PORTA_OK) {
    free(be);
    return st;
  }
  VkPhysicalDevice *devs;
  uint32_t n;
  st = physical_devices(be->instance, &devs, &n, err, err_size);
  if (st != PORTA_OK) goto fail;
  if (device < 0 || (uint32_t)device >= n) {
    snprintf(err, err_size, "vulkan: device index %d out of range: %u Vulkan device(s) found",
             device, n);
    free(devs);
    st = PORTA_ERR_NO_DEVICE;
    goto fail;
  }
  be->physical = devs[device];
  free(devs);
  describe_device(be->physical, device, &be->base.info);
  vkGetPhysicalDeviceProperties(be->physical, &be->props);
  if (be->props.apiVersion < VK_API_VERSION_1_1) {
    snprintf(err, err_size, "vulkan: device %d (%s) supports Vulkan %u.%u only; porta needs 1.1",
             device, be->props.deviceName, VK_API_VERSION_MAJOR(be->props.apiVersion),
             VK_API_VERSION_MINOR(be->props.apiVersion));
    st = PORTA_ERR_UNSUPPORTED;
    goto fail;
  }
  uint32_t ts_bits = 0;
  if (!pick_queue_family(be->physical, &be->queue_family, &ts_bits)) {
    snprintf(err, err_size, "vulkan: device %d (%s) has no compute queue", device,
             be->props.deviceName);
    st = PORTA_ERR_UNSUPPORTED;
    goto fail;
  }
  be->timestamp_period = be->props.limits.timestampPeriod;
  be->timestamp_mask = ts_bits >= 64 ? ~0ull : ts_bits ? ((1ull << ts_bits) - 1) : 0;
  if (!be->props.limits.timestampComputeAndGraphics && ts_bits == 0) be->timestamp_mask = 0;

  float priority = 1.0f;
  VkDeviceQueueCreateInfo qinfo = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
      .queueFamilyIndex = be->queue_family,
      .queueCount = 1,
      .pQueuePriorities = &priority,
  };
  /* MoltenVK requires VK_KHR_portability_subset to be enabled when it is offered. */
  const char *dev_exts[1];
  uint32_t n_dev_exts = 0;
  if (has_device_extension(be->physical, "VK_KHR_portability_subset"))
    dev_exts[n_dev_exts++] = "VK_KHR_portability_subset";
  VkDeviceCreateInfo dinfo = {
      .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
      .queueCreateInfoCount = 1,
      .pQueueCreateInfos = &qinfo,
      .enabledExtensionCount = n_dev_exts,
      .ppEnabledExtensionNames = dev_exts,
  };
  VkResult r = vkCreateDevice(be->physical, &dinfo, NULL, &be->device);
  if (r != VK_SUCCESS) {
    be->device = VK_NULL_HANDLE;
    snprintf(err, err_size, "vulkan: vkCreateDevice on %s failed: %s", be->props.deviceName,
             vk_result_name(r));
    st = status_of(r);
    goto fail;
  }
  vkGetDeviceQueue(be->device, be->queue_family, 0, &be->queue);
  if ((st = vk_memory_init(be)) != PORTA_OK || (st = vk_exec_init(be)) != PORTA_OK ||
      (st = vk_pipeline_init(be)) != PORTA_OK) {
    snprintf(err, err_size, "%s", be->base.err);
    goto fail;
  }
  *out = &be->base;
  return PORTA_OK;
fail:
  vk_destroy(&be->base);
  return st;
}

void vk_backend_destroy(porta_backend *base) { vk_destroy(base); }
