/* Compute pipelines: one per (shader, specialisation constants), created on first use and kept.
 * Descriptor-set and pipeline layouts exist per binding count (all bindings are storage buffers,
 * all push constants one 128-byte range). A VkPipelineCache is loaded from and saved to
 * <cache dir>/vulkan-<vendor>-<device>-<driver>-<pipelineCacheUUID>.bin, written to a temporary
 * file and renamed, so a crash never leaves half a cache. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/vulkan/vk_internal.h"
#include "backend/embedded.h"

/* Reads the cache file if its header matches this device; returns malloc'd bytes or NULL. */
static void *read_cache_file(vk_backend *be, size_t *size) {
  *size = 0;
  FILE *f = fopen(be->pipeline_cache_path, "rb");
  if (!f) return NULL;
  void *data = NULL;
  if (fseek(f, 0, SEEK_END) == 0) {
    long n = ftell(f);
    if (n >= 32 && n < (256l << 20) && fseek(f, 0, SEEK_SET) == 0) {
      data = malloc((size_t)n);
      if (data && fread(data, 1, (size_t)n, f) == (size_t)n) {
        /* VkPipelineCacheHeaderVersionOne: size, version, vendorID, deviceID, UUID */
        uint32_t hdr[4];
        memcpy(hdr, data, sizeof hdr);
        if (hdr[1] == VK_PIPELINE_CACHE_HEADER_VERSION_ONE && hdr[2] == be->props.vendorID &&
            hdr[3] == be->props.deviceID &&
            memcmp((char *)data + 16, be->props.pipelineCacheUUID, VK_UUID_SIZE) == 0) {
          *size = (size_t)n;
        }
      }
      if (!*size) {
        free(data);
        data = NULL;
      }
    }
  }
  fclose(f);
  return data;
}

static void save_cache_file(vk_backend *be) {
  if (!be->pipeline_cache || !be->pipeline_cache_dirty || !be->pipeline_cache_path[0]) return;
  size_t size = 0;
  if (vkGetPipelineCacheData(be->device, be->pipeline_cache, &size, NULL) != VK_SUCCESS || !size)
    return;
  void *data = malloc(size);
  if (!data) return;
  if (vkGetPipelineCacheData(be->device, be->pipeline_cache, &size, data) == VK_SUCCESS)
    porta_cache_write(be->pipeline_cache_path, data, size);
  free(data);
}

porta_status vk_pipeline_init(vk_backend *be) {
  VkResult r;
  uint32_t limit = be->props.limits.maxComputeWorkGroupInvocations;
  if (be->props.limits.maxComputeWorkGroupSize[0] < limit)
    limit = be->props.limits.maxComputeWorkGroupSize[0];
  be->wg = 256;
  while (be->wg > limit) be->wg /= 2;
  const char *variant = getenv("PORTA_VULKAN_GEMM");
  be->gemm_variant = VK_GEMM_AUTO;
  if (variant && strcmp(variant, "naive") == 0) be->gemm_variant = VK_GEMM_NAIVE;
  if (variant && strcmp(variant, "tiled") == 0) be->gemm_variant = VK_GEMM_TILED;
  if (variant && strcmp(variant, "vec") == 0) be->gemm_variant = VK_GEMM_VEC;
  if (variant && strcmp(variant, "texel") == 0) be->gemm_variant = VK_GEMM_TEXEL;
  const char *rows = getenv("PORTA_VULKAN_ROWS");
  be->row_mode = VK_ROWS_AUTO;
  if (rows && strcmp(rows, "lanes") == 0) be->row_mode = VK_ROWS_LANES;
  if (rows && strcmp(rows, "group") == 0) be->row_mode = VK_ROWS_GROUP;
  if (rows && strcmp(rows, "shared") == 0) be->row_mode = VK_ROWS_SHARED;
  be->gemm_variant_env = be->gemm_variant;
  be->row_mode_env = be->row_mode;
  VkPhysicalDeviceSubgroupProperties sub = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceProperties2 props2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                        .pNext = &sub};
  vkGetPhysicalDeviceProperties2(be->physical, &props2);
  be->subgroup_size = 1;
  while (be->subgroup_size * 2 <= sub.subgroupSize && be->subgroup_size * 2 <= be->wg)
    be->subgroup_size *= 2;
  VkSubgroupFeatureFlags need = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
  be->subgroup_arith = (sub.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                       (sub.supportedOperations & need) == need;
  for (int n = 1; n <= VK_MAX_BINDINGS; n++) {
    VkDescriptorSetLayoutBinding bindings[VK_MAX_BINDINGS];
    for (int i = 0; i < n; i++)
      bindings[i] = (VkDescriptorSetLayoutBinding){
          .binding = (uint32_t)i,
          .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
          .descriptorCount = 1,
          .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
      };
    VkDescriptorSetLayoutCreateInfo linfo = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = (uint32_t)n,
        .pBindings = bindings,
    };
    if ((r = vkCreateDescriptorSetLayout(be->device, &linfo, NULL, &be->set_layouts[n])) !=
        VK_SUCCESS)
      return vk_fail_result(be, r, "vkCreateDescriptorSetLayout");
    VkPushConstantRange range = {VK_SHADER_STAGE_COMPUTE_BIT, 0, 4 * VK_PUSH_WORDS};
    VkPipelineLayoutCreateInfo pinfo = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
        .setLayoutCount = 1,
        .pSetLayouts = &be->set_layouts[n],
        .pushConstantRangeCount = 1,
        .pPushConstantRanges = &range,
    };
    if ((r = vkCreatePipelineLayout(be->device, &pinfo, NULL, &be->pipeline_layouts[n])) !=
        VK_SUCCESS)
      return vk_fail_result(be, r, "vkCreatePipelineLayout");
  }

  VkFormatProperties fmt;
  vkGetPhysicalDeviceFormatProperties(be->physical, VK_FORMAT_R32G32B32A32_SFLOAT, &fmt);
  be->texel_ok = fmt.bufferFeatures & VK_FORMAT_FEATURE_STORAGE_TEXEL_BUFFER_BIT;

  char dir[900];
  porta_cache_dir(dir, sizeof dir);
  be->pipeline_cache_path[0] = '\0';
  if (dir[0]) {
    char uuid[2 * VK_UUID_SIZE + 1];
    for (int i = 0; i < (int)VK_UUID_SIZE; i++)
      snprintf(uuid + 2 * i, 3, "%02x", be->props.pipelineCacheUUID[i]);
    snprintf(be->pipeline_cache_path, sizeof be->pipeline_cache_path,
             "%s/vulkan-%04x-%04x-%08x-%s.bin", dir, be->props.vendorID, be->props.deviceID,
             be->props.driverVersion, uuid);
  }
  size_t size = 0;
  void *data = be->pipeline_cache_path[0] ? read_cache_file(be, &size) : NULL;
  VkPipelineCacheCreateInfo cinfo = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
      .initialDataSize = size,
      .pInitialData = data,
  };
  r = vkCreatePipelineCache(be->device, &cinfo, NULL, &be->pipeline_cache);
  if (r != VK_SUCCESS && data) { /* a stale or corrupt file: start empty */
    cinfo.initialDataSize = 0;
    cinfo.pInitialData = NULL;
    r = vkCreatePipelineCache(be->device, &cinfo, NULL, &be->pipeline_cache);
  }
  free(data);
  if (r != VK_SUCCESS) be->pipeline_cache = VK_NULL_HANDLE; /* works without, only slower */
  return PORTA_OK;
}

void vk_pipeline_destroy(vk_backend *be) {
  save_cache_file(be);
  for (int i = 0; i < be->n_pipelines; i++) {
    vkDestroyPipeline(be->device, be->pipelines[i].pipeline, NULL);
    vkDestroyShaderModule(be->device, be->pipelines[i].module, NULL);
  }
  be->n_pipelines = 0;
  if (be->pipeline_cache) vkDestroyPipelineCache(be->device, be->pipeline_cache, NULL);
  be->pipeline_cache = VK_NULL_HANDLE;
  for (int n = 0; n <= VK_MAX_TEXEL_BINDINGS; n++)
    for (int m = 0; m < (1 << VK_MAX_TEXEL_BINDINGS); m++) {
      if (be->texel_pipeline_layouts[n][m])
        vkDestroyPipelineLayout(be->device, be->texel_pipeline_layouts[n][m], NULL);
      if (be->texel_set_layouts[n][m])
        vkDestroyDescriptorSetLayout(be->device, be->texel_set_layouts[n][m], NULL);
      be->texel_pipeline_layouts[n][m] = VK_NULL_HANDLE;
      be->texel_set_layouts[n][m] = VK_NULL_HANDLE;
    }
  for (int n = 1; n <= VK_MAX_BINDINGS; n++) {
    if (be->pipeline_layouts[n]) vkDestroyPipelineLayout(be->device, be->pipeline_layouts[n], NULL);
    if (be->set_layouts[n]) vkDestroyDescriptorSetLayout(be->device, be->set_layouts[n], NULL);
    be->pipeline_layouts[n] = VK_NULL_HANDLE;
    be->set_layouts[n] = VK_NULL_HANDLE;
  }
}

VkPipelineLayout vk_pipeline_layout(const vk_backend *be, const vk_pipeline *pipe) {
  return pipe->texel_mask ? be->texel_pipeline_layouts[pipe->n_bindings][pipe->texel_mask]
                          : be->pipeline_layouts[pipe->n_bindings];
}

VkDescriptorSetLayout vk_set_layout(const vk_backend *be, const vk_pipeline *pipe) {
  return pipe->texel_mask ? be->texel_set_layouts[pipe->n_bindings][pipe->texel_mask]
                          : be->set_layouts[pipe->n_bindings];
}

/* The n-binding layout whose bindings in mask are storage texel buffers, made once. */
static porta_status texel_layout(vk_backend *be, int n, uint32_t mask) {
  if (be->texel_pipeline_layouts[n][mask]) return PORTA_OK;
  VkDescriptorSetLayoutBinding bindings[VK_MAX_TEXEL_BINDINGS];
  for (int i = 0; i < n; i++)
    bindings[i] = (VkDescriptorSetLayoutBinding){
        .binding = (uint32_t)i,
        .descriptorType = (mask >> i) & 1 ? VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER
                                          : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
        .descriptorCount = 1,
        .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    };
  VkDescriptorSetLayoutCreateInfo linfo = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
      .bindingCount = (uint32_t)n,
      .pBindings = bindings,
  };
  VkResult r =
      vkCreateDescriptorSetLayout(be->device, &linfo, NULL, &be->texel_set_layouts[n][mask]);
  if (r != VK_SUCCESS) {
    be->texel_set_layouts[n][mask] = VK_NULL_HANDLE;
    return vk_fail_result(be, r, "vkCreateDescriptorSetLayout");
  }
  VkPushConstantRange range = {VK_SHADER_STAGE_COMPUTE_BIT, 0, 4 * VK_PUSH_WORDS};
  VkPipelineLayoutCreateInfo pinfo = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
      .setLayoutCount = 1,
      .pSetLayouts = &be->texel_set_layouts[n][mask],
      .pushConstantRangeCount = 1,
      .pPushConstantRanges = &range,
  };
  r = vkCreatePipelineLayout(be->device, &pinfo, NULL, &be->texel_pipeline_layouts[n][mask]);
  if (r != VK_SUCCESS) {
    be->texel_pipeline_layouts[n][mask] = VK_NULL_HANDLE;
    return vk_fail_result(be, r, "vkCreatePipelineLayout");
  }
  return PORTA_OK;
}

static porta_status get_pipeline(vk_backend *be, const char *name, int n_bindings,
                                 uint32_t texel_mask, const uint32_t *spec, int n_spec,
                                 vk_pipeline **out) {
  *out = NULL;
  for (int i = 0; i < be->n_pipelines; i++) {
    vk_pipeline *p = &be->pipelines[i];
    if (strcmp(p->name, name) == 0 && p->n_spec == n_spec && p->texel_mask == texel_mask &&
        memcmp(p->spec, spec, (size_t)n_spec * sizeof *spec) == 0) {
      *out = p;
      return PORTA_OK;
    }
  }
  if (be->n_pipelines == VK_MAX_PIPELINES || n_spec > 8 || n_bindings < 1 ||
      n_bindings > VK_MAX_BINDINGS)
    return vk_fail(be, PORTA_ERR_LIMIT, "vulkan: pipeline table full or bad shader use (%s)", name);
  char file[48];
  snprintf(file, sizeof file, "%s.spv", name);
  const porta_embedded_file *spv = porta_embedded_find(porta_embedded_shaders, file);
  if (!spv)
    return vk_fail(be, PORTA_ERR_NOT_FOUND, "vulkan: shader %s is not embedded in this build",
                   file);
  vk_pipeline *p = &be->pipelines[be->n_pipelines];
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "%s", name);
  memcpy(p->spec, spec, (size_t)n_spec * sizeof *spec);
  p->n_spec = n_spec;
  p->n_bindings = n_bindings;
  p->texel_mask = texel_mask;
  VkShaderModuleCreateInfo minfo = {
      .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
      .codeSize = spv->size,
      .pCode = (const uint32_t *)(const void *)spv->data,
  };
  VkResult r = vkCreateShaderModule(be->device, &minfo, NULL, &p->module);
  if (r != VK_SUCCESS)
    return vk_fail(be, PORTA_ERR_BUILD, "vulkan: vkCreateShaderModule(%s) failed: %s", file,
                   vk_result_name(r));
  VkSpecializationMapEntry entries[8];
  for (int i = 0; i < n_spec; i++)
    entries[i] = (VkSpecializationMapEntry){(uint32_t)i, (uint32_t)(4 * i), 4u};
  VkSpecializationInfo sinfo = {
      .mapEntryCount = (uint32_t)n_spec,
      .pMapEntries = entries,
      .dataSize = 4 * (size_t)n_spec,
      .pData = p->spec,
  };
  VkComputePipelineCreateInfo cinfo = {
      .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
      .stage =
          {
              .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
              .stage = VK_SHADER_STAGE_COMPUTE_BIT,
              .module = p->module,
              .pName = "main",
              .pSpecializationInfo = n_spec ? &sinfo : NULL,
          },
      .layout = vk_pipeline_layout(be, p),
  };
  r = vkCreateComputePipelines(be->device, be->pipeline_cache, 1, &cinfo, NULL, &p->pipeline);
  if (r != VK_SUCCESS) {
    vkDestroyShaderModule(be->device, p->module, NULL);
    return vk_fail(be,
                   r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY
                       ? PORTA_ERR_DEVICE_MEMORY
                       : PORTA_ERR_BUILD,
                   "vulkan: vkCreateComputePipelines(%s) failed: %s", file, vk_result_name(r));
  }
  be->pipeline_cache_dirty = true;
  be->n_pipelines++;
  *out = p;
  return PORTA_OK;
}

porta_status vk_pipeline_get(vk_backend *be, const char *name, int n_bindings, const uint32_t *spec,
                             int n_spec, vk_pipeline **out) {
  return get_pipeline(be, name, n_bindings, 0, spec, n_spec, out);
}

porta_status vk_pipeline_get_texel(vk_backend *be, const char *name, int n_bindings,
                                   uint32_t texel_mask, const uint32_t *spec, int n_spec,
                                   vk_pipeline **out) {
  if (n_bindings < 1 || n_bindings > VK_MAX_TEXEL_BINDINGS || texel_mask == 0 ||
      texel_mask >= (1u << n_bindings))
    return vk_fail(be, PORTA_ERR_BACKEND, "vulkan: %s: bad texel layout (%d bindings, mask %u)",
                   name, n_bindings, texel_mask);
  if (!be->texel_ok)
    return vk_fail(be, PORTA_ERR_UNSUPPORTED, "vulkan: %s: no RGBA32F storage texel buffers on %s",
                   name, be->props.deviceName);
  porta_status st = texel_layout(be, n_bindings, texel_mask);
  if (st != PORTA_OK) return st;
  return get_pipeline(be, name, n_bindings, texel_mask, spec, n_spec, out);
}

/* CPU devices (lavapipe: a work group is a loop over SIMD chunks of subgroup size, a barrier a
 * coroutine switch): one invocation per row whenever there are rows enough to fill a few chunks,
 * else a group per row, as small as keeps ≤ 1024 elements a lane. GPUs: a group per row, about 4
 * elements a lane, at least a subgroup and at most wg lanes. lavapipe also ends any shader
 * invocation after 65535 loop iterations in all (LP_MAX_TGSI_LOOP_ITERATIONS, one counter per
 * invocation, never reset), so one invocation per row only for rows ≤ 4096 (3 passes), in every
 * mode. */
bool vk_rows_subgroup(const vk_backend *be) {
  return be->subgroup_arith && be->row_mode != VK_ROWS_SHARED &&
         (be->row_mode == VK_ROWS_GROUP || porta_path_on(&be->base, VK_PATH_ROWS_SUBGROUP));
}

vk_row_plan vk_row_plan_for(const vk_backend *be, uint64_t rows, uint64_t n) {
  bool cpu = be->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
  bool lanes = be->row_mode == VK_ROWS_LANES;
  if (be->row_mode == VK_ROWS_AUTO)
    lanes = cpu && rows >= 4 * (uint64_t)be->subgroup_size &&
            porta_path_on(&be->base, VK_PATH_ROWS_LANES);
  vk_row_plan plan = {.wg = be->subgroup_size, .lanes = lanes && n <= 4096};
  if (plan.lanes) { /* a few chunks a group: fewer, larger groups */
    plan.wg = 8 * be->subgroup_size < be->wg ? 8 * be->subgroup_size : be->wg;
    return plan;
  }
  uint64_t per_lane = cpu && be->row_mode == VK_ROWS_AUTO ? 1024 : 4;
  while (plan.wg < be->wg && per_lane * plan.wg < n) plan.wg *= 2;
  plan.subgroup = vk_rows_subgroup(be);
  return plan;
}

int vk_paths(porta_backend *base, porta_backend_path *out, int capacity) {
  vk_backend *be = (vk_backend *)base;
  bool cpu = be->base.info.is_cpu;
  const uint32_t gemm = 1u << PORTA_OP_GEMM, adamw = 1u << PORTA_OP_ADAMW;
  const uint32_t rows = 1u << PORTA_OP_SOFTMAX | 1u << PORTA_OP_SOFTMAX_BWD |
                        1u << PORTA_OP_LAYERNORM | 1u << PORTA_OP_LAYERNORM_BWD |
                        1u << PORTA_OP_CROSS_ENTROPY | 1u << PORTA_OP_REDUCE;
  const porta_backend_path all[VK_PATH_COUNT] = {
      [VK_PATH_GEMM_TILED] = {"gemm.tiled", gemm, true, true, false},
      [VK_PATH_GEMM_NAIVE] = {"gemm.naive", gemm, true, false, true},
      [VK_PATH_GEMM_VEC] = {"gemm.vec", gemm, true, cpu, false},
      [VK_PATH_GEMM_TEXEL] = {"gemm.texel", gemm, be->texel_ok, cpu && be->texel_ok, false},
      [VK_PATH_ROWS_LANES] = {"rows.lanes", rows, true, cpu, false},
      [VK_PATH_ROWS_SUBGROUP] = {"rows.subgroup", rows | 1u << PORTA_OP_SUMSQ, be->subgroup_arith,
                                 be->subgroup_arith, false},
      [VK_PATH_ROWS_SHARED] = {"rows.shared", rows | 1u << PORTA_OP_SUMSQ, true,
                               !be->subgroup_arith, true},
      [VK_PATH_ADAMW_TEXEL] = {"adamw.texel", adamw, be->texel_ok, cpu && be->texel_ok, false},
      [VK_PATH_ADAMW_PLAIN] = {"adamw.plain", adamw, true, !(cpu && be->texel_ok), true},
  };
  for (int i = 0; i < VK_PATH_COUNT && i < capacity; i++) out[i] = all[i];
  return VK_PATH_COUNT;
}

porta_status vk_path_force(porta_backend *base, int i) {
  vk_backend *be = (vk_backend *)base;
  porta_backend_path p[VK_PATH_COUNT];
  vk_paths(base, p, VK_PATH_COUNT);
  if (i >= 0 && (i >= VK_PATH_COUNT || !p[i].available))
    return vk_fail(be, PORTA_ERR_UNSUPPORTED, "vulkan: path %d is not available on '%s'", i,
                   be->base.info.name);
  switch (i) {
  case -1:
    be->gemm_variant = be->gemm_variant_env;
    be->row_mode = be->row_mode_env;
    be->adamw_mode = VK_ADAMW_AUTO;
    break;
  case VK_PATH_GEMM_TILED:
    be->gemm_variant = VK_GEMM_TILED;
    break;
  case VK_PATH_GEMM_NAIVE:
    be->gemm_variant = VK_GEMM_NAIVE;
    break;
  case VK_PATH_GEMM_VEC:
    be->gemm_variant = VK_GEMM_VEC;
    break;
  case VK_PATH_GEMM_TEXEL:
    be->gemm_variant = VK_GEMM_TEXEL;
    break;
  case VK_PATH_ROWS_LANES:
    be->row_mode = VK_ROWS_LANES;
    break;
  case VK_PATH_ROWS_SUBGROUP:
    be->row_mode = VK_ROWS_GROUP;
    break;
  case VK_PATH_ROWS_SHARED:
    be->row_mode = VK_ROWS_SHARED;
    break;
  case VK_PATH_ADAMW_TEXEL:
    be->adamw_mode = VK_ADAMW_TEXEL;
    break;
  default:
    be->adamw_mode = VK_ADAMW_PLAIN;
    break;
  }
  return PORTA_OK;
}

porta_status vk_pipe_rows(vk_backend *be, const char *name, int n_bindings, vk_row_plan plan,
                          vk_pipeline **out) {
  char full[32];
  snprintf(full, sizeof full, "%s%s", name, plan.subgroup && !plan.lanes ? "_sg" : "");
  uint32_t spec[2] = {plan.wg, plan.lanes};
  return vk_pipeline_get(be, full, n_bindings, spec, 2, out);
}

void vk_groups_rows(vk_row_plan plan, uint64_t rows, uint32_t *gx, uint32_t *gy) {
  vk_groups_1d(plan.lanes ? rows : rows * plan.wg, plan.wg, gx, gy);
}
