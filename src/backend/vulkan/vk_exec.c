/* Recording and submission. VK_FRAMES frames rotate: the current one records; a full one is
 * submitted without waiting and the next one is taken (waiting only if it is still in flight).
 * Every command is preceded by one global memory barrier (compute/transfer writes before
 * compute/transfer reads and writes), whose first scope also covers earlier submissions, so
 * ordering holds across frames. Timestamps (when profiling) bracket each dispatch. */
#include <stdlib.h>
#include <string.h>

#include "backend/vulkan/vk_internal.h"

porta_status vk_exec_init(vk_backend *be) {
  VkCommandPoolCreateInfo pinfo = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
      .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
      .queueFamilyIndex = be->queue_family,
  };
  VkResult r = vkCreateCommandPool(be->device, &pinfo, NULL, &be->command_pool);
  if (r != VK_SUCCESS) {
    be->command_pool = VK_NULL_HANDLE;
    return vk_fail_result(be, r, "vkCreateCommandPool");
  }
  for (int i = 0; i < VK_FRAMES; i++) {
    vk_frame *f = &be->frames[i];
    VkCommandBufferAllocateInfo cinfo = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = be->command_pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    if ((r = vkAllocateCommandBuffers(be->device, &cinfo, &f->cmd)) != VK_SUCCESS)
      return vk_fail_result(be, r, "vkAllocateCommandBuffers");
    VkFenceCreateInfo finfo = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    if ((r = vkCreateFence(be->device, &finfo, NULL, &f->fence)) != VK_SUCCESS)
      return vk_fail_result(be, r, "vkCreateFence");
    VkDescriptorPoolSize sizes[2] = {
        {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, VK_MAX_DISPATCH * VK_MAX_BINDINGS},
        {VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER, 2 * VK_MAX_DISPATCH},
    };
    VkDescriptorPoolCreateInfo dinfo = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = VK_MAX_DISPATCH,
        .poolSizeCount = 2,
        .pPoolSizes = sizes,
    };
    if ((r = vkCreateDescriptorPool(be->device, &dinfo, NULL, &f->pool)) != VK_SUCCESS)
      return vk_fail_result(be, r, "vkCreateDescriptorPool");
    if (be->timestamp_mask) {
      VkQueryPoolCreateInfo qinfo = {
          .sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
          .queryType = VK_QUERY_TYPE_TIMESTAMP,
          .queryCount = 2 * VK_MAX_DISPATCH,
      };
      if ((r = vkCreateQueryPool(be->device, &qinfo, NULL, &f->queries)) != VK_SUCCESS)
        return vk_fail_result(be, r, "vkCreateQueryPool");
    }
    porta_status st = vk_make_buffer(
        be, VK_STAGING_BYTES, VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT |
            VK_MEMORY_PROPERTY_HOST_CACHED_BIT,
        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT, &f->staging,
        &f->staging_memory);
    if (st != PORTA_OK) return st;
    void *map = NULL;
    if ((r = vkMapMemory(be->device, f->staging_memory, 0, VK_WHOLE_SIZE, 0, &map)) != VK_SUCCESS)
      return vk_fail_result(be, r, "vkMapMemory (staging)");
    f->staging_map = map;
  }
  return PORTA_OK;
}

static void release_frees(vk_backend *be, vk_frame *f) {
  for (int i = 0; i < f->n_frees; i++) vk_buffer_release(be, f->frees[i]);
  f->n_frees = 0;
  for (int i = 0; i < f->n_views; i++) vkDestroyBufferView(be->device, f->views[i], NULL);
  f->n_views = 0;
}

void vk_exec_destroy(vk_backend *be) {
  for (int i = 0; i < VK_FRAMES; i++) {
    vk_frame *f = &be->frames[i];
    release_frees(be, f);
    free(f->frees);
    free(f->views);
    if (f->staging_memory) {
      if (f->staging_map) vkUnmapMemory(be->device, f->staging_memory);
      vkFreeMemory(be->device, f->staging_memory, NULL);
    }
    if (f->staging) vkDestroyBuffer(be->device, f->staging, NULL);
    if (f->queries) vkDestroyQueryPool(be->device, f->queries, NULL);
    if (f->pool) vkDestroyDescriptorPool(be->device, f->pool, NULL);
    if (f->fence) vkDestroyFence(be->device, f->fence, NULL);
  }
  if (be->command_pool) vkDestroyCommandPool(be->device, be->command_pool, NULL);
  memset(be->frames, 0, sizeof be->frames);
  be->command_pool = VK_NULL_HANDLE;
}

/* Waits for frame `index` if it is in flight and recycles it: timestamps read, deferred frees
 * released, descriptor pool reset, staging emptied. A recording frame is submitted first. */
porta_status vk_wait_frame(vk_backend *be, int index) {
  vk_frame *f = &be->frames[index];
  porta_status st;
  if (f->recording && (st = vk_submit(be)) != PORTA_OK) return st;
  if (!f->in_flight) return PORTA_OK;
  VkResult r = vkWaitForFences(be->device, 1, &f->fence, VK_TRUE, UINT64_MAX);
  if (r != VK_SUCCESS) return vk_fail_result(be, r, "vkWaitForFences");
  vkResetFences(be->device, 1, &f->fence);
  f->in_flight = false;
  if (f->n_queries) {
    uint64_t ticks[2 * VK_MAX_DISPATCH];
    r = vkGetQueryPoolResults(be->device, f->queries, 0, f->n_queries, sizeof ticks, ticks,
                              sizeof ticks[0], VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
    if (r == VK_SUCCESS)
      for (uint32_t q = 0; q + 1 < f->n_queries; q += 2) {
        uint64_t dt = (ticks[q + 1] - ticks[q]) & be->timestamp_mask;
        be->prof_ns[f->query_op[q / 2]] += (uint64_t)((double)dt * be->timestamp_period);
      }
    f->n_queries = 0;
  }
  release_frees(be, f);
  vkResetDescriptorPool(be->device, f->pool, 0);
  f->staging_used = 0;
  f->n_commands = 0;
  f->n_dispatch = 0;
  return PORTA_OK;
}

static porta_status frame_begin(vk_backend *be, vk_frame *f) {
  porta_status st = vk_wait_frame(be, (int)(f - be->frames));
  if (st != PORTA_OK) return st;
  VkCommandBufferBeginInfo binfo = {
      .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
      .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
  };
  VkResult r = vkBeginCommandBuffer(f->cmd, &binfo);
  if (r != VK_SUCCESS) return vk_fail_result(be, r, "vkBeginCommandBuffer");
  f->recording = true;
  f->n_commands = 0;
  f->n_dispatch = 0;
  f->n_queries = 0;
  f->timing = be->profiling && f->queries;
  if (f->timing) vkCmdResetQueryPool(f->cmd, f->queries, 0, 2 * VK_MAX_DISPATCH);
  return PORTA_OK;
}

porta_status vk_submit(vk_backend *be) {
  vk_frame *f = &be->frames[be->cur];
  if (!f->recording) return PORTA_OK;
  f->recording = false;
  VkResult r = vkEndCommandBuffer(f->cmd);
  if (r != VK_SUCCESS) return vk_fail_result(be, r, "vkEndCommandBuffer");
  VkSubmitInfo sinfo = {
      .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
      .commandBufferCount = 1,
      .pCommandBuffers = &f->cmd,
  };
  r = vkQueueSubmit(be->queue, 1, &sinfo, f->fence);
  if (r != VK_SUCCESS) return vk_fail_result(be, r, "vkQueueSubmit");
  f->in_flight = true;
  be->cur = (be->cur + 1) % VK_FRAMES;
  return PORTA_OK;
}

porta_status vk_frame_for_command(vk_backend *be, vk_frame **out) {
  vk_frame *f = &be->frames[be->cur];
  porta_status st;
  /* a full frame goes to the GPU now, so long sequences overlap recording and execution */
  if (f->recording && (f->n_dispatch >= VK_MAX_DISPATCH || f->n_commands >= 4 * VK_MAX_DISPATCH)) {
    if ((st = vk_submit(be)) != PORTA_OK) return st;
    f = &be->frames[be->cur];
  }
  if (!f->recording && (st = frame_begin(be, f)) != PORTA_OK) return st;
  *out = f;
  return PORTA_OK;
}

porta_status vk_frame_for_staging(vk_backend *be, VkDeviceSize bytes, vk_frame **out,
                                  VkDeviceSize *staging_offset) {
  vk_frame *f;
  porta_status st = vk_frame_for_command(be, &f);
  if (st != PORTA_OK) return st;
  if (f->staging_used + bytes > VK_STAGING_BYTES) {
    if ((st = vk_submit(be)) != PORTA_OK || (st = vk_frame_for_command(be, &f)) != PORTA_OK)
      return st;
  }
  *staging_offset = f->staging_used;
  f->staging_used += (bytes + 255) & ~(VkDeviceSize)255;
  *out = f;
  return PORTA_OK;
}

void vk_barrier(vk_backend *be, vk_frame *f) {
  VkMemoryBarrier mb = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
      .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
      .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                       VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
  };
  VkPipelineStageFlags stages =
      VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  vkCmdPipelineBarrier(f->cmd, stages, stages, 0, 1, &mb, 0, NULL, 0, NULL);
}

porta_status vk_synchronize(porta_backend *base) {
  vk_backend *be = (vk_backend *)base;
  porta_status st = vk_submit(be);
  if (st != PORTA_OK) return st;
  /* oldest first: cur is the next to record, so cur+1... were submitted earlier */
  for (int k = 0; k < VK_FRAMES; k++)
    if ((st = vk_wait_frame(be, (be->cur + k) % VK_FRAMES)) != PORTA_OK) return st;
  if (be->validation_errors)
    return vk_fail(be, PORTA_ERR_BACKEND, "vulkan: %d validation error(s) reported (see stderr)",
                   be->validation_errors);
  return PORTA_OK;
}

void vk_defer_free(vk_backend *be, vk_buffer *buf) {
  bool busy = false;
  for (int i = 0; i < VK_FRAMES; i++)
    if (be->frames[i].recording || be->frames[i].in_flight) busy = true;
  vk_frame *f = &be->frames[be->cur];
  /* Attach to a recording frame: it completes after every earlier submission. */
  if (busy && !f->recording && frame_begin(be, f) != PORTA_OK) busy = false;
  if (!busy) {
    vk_buffer_release(be, buf);
    return;
  }
  if (f->n_frees == f->cap_frees) {
    int cap = f->cap_frees ? 2 * f->cap_frees : 32;
    vk_buffer **nf = realloc(f->frees, (size_t)cap * sizeof *nf);
    if (!nf) { /* host OOM: wait for everything, then release now */
      vk_synchronize(&be->base);
      vk_buffer_release(be, buf);
      return;
    }
    f->frees = nf;
    f->cap_frees = cap;
  }
  f->frees[f->n_frees++] = buf;
}

uint64_t vk_max_elems(const vk_backend *be) {
  /* less the worst alignment remainder, rounded down to 64 elements so that chunk starts keep
   * 256-byte alignment */
  uint64_t elems = (be->max_range - be->props.limits.minStorageBufferOffsetAlignment) / 4;
  return elems & ~(uint64_t)63;
}

void vk_groups_1d(uint64_t n, uint32_t wg, uint32_t *gx, uint32_t *gy) {
  uint64_t groups = (n + wg - 1) / wg;
  if (groups == 0) groups = 1;
  if (groups <= 65535) {
    *gx = (uint32_t)groups;
    *gy = 1;
  } else {
    *gx = 65535;
    *gy = (uint32_t)((groups + 65534) / 65535);
  }
}

porta_status vk_dispatch(vk_backend *be, porta_op op, vk_pipeline *pipe, const vk_bind *binds,
                         int n_binds, const void *push, size_t push_bytes, uint32_t gx, uint32_t gy,
                         uint32_t gz) {
  if (n_binds != pipe->n_bindings || n_binds > VK_MAX_BINDINGS ||
      push_bytes + 4 * (size_t)n_binds > 4 * VK_PUSH_WORDS)
    return vk_fail(be, PORTA_ERR_BACKEND, "vulkan: %s: bad dispatch (%d bindings, %zu push bytes)",
                   pipe->name, n_binds, push_bytes);
  VkDescriptorBufferInfo infos[VK_MAX_BINDINGS];
  uint32_t words[VK_PUSH_WORDS] = {0};
  VkDeviceSize align = be->props.limits.minStorageBufferOffsetAlignment;
  if (align == 0) align = 1;
  for (int i = 0; i < n_binds; i++) {
    const vk_buffer *buf = binds[i].ref.buf ? binds[i].ref.buf : be->dummy;
    uint64_t off = binds[i].ref.buf ? binds[i].ref.off : 0;
    uint64_t count = binds[i].ref.buf ? binds[i].count : 1;
    if (count == 0) count = 1;
    if ((off + count) * 4 > buf->size && binds[i].count > 0)
      return vk_fail(be, PORTA_ERR_INVALID_ARGUMENT,
                     "vulkan: %s: binding %d reads elements [%llu, %llu) of a buffer of %llu "
                     "elements",
                     pipe->name, i, (unsigned long long)off, (unsigned long long)(off + count),
                     (unsigned long long)(buf->size / 4));
    VkDeviceSize byte_off = buf->offset + off * 4;
    VkDeviceSize aligned = byte_off / align * align;
    VkDeviceSize range = byte_off - aligned + count * 4;
    VkDeviceSize end = buf->offset + buf->reserved;
    if (aligned + range > end) range = end - aligned;
    if (range > be->max_range)
      return vk_fail(be, PORTA_ERR_UNSUPPORTED,
                     "vulkan: %s: binding %d spans %llu bytes, more than this device's "
                     "maxStorageBufferRange (%llu)",
                     pipe->name, i, (unsigned long long)range, (unsigned long long)be->max_range);
    if ((pipe->texel_mask >> i) & 1) { /* the view's offset has its own alignment */
      VkDeviceSize talign = be->props.limits.minTexelBufferOffsetAlignment;
      if (talign < 16) talign = 16;
      aligned = byte_off / talign * talign;
      range = (byte_off - aligned + count * 4 + 15) / 16 * 16;
      if (aligned + range > end) range = (end - aligned) / 16 * 16;
      if ((byte_off - aligned) % 16 || range / 16 > be->props.limits.maxTexelBufferElements)
        return vk_fail(be, PORTA_ERR_BACKEND, "vulkan: %s: texel binding not representable",
                       pipe->name);
    }
    infos[i] = (VkDescriptorBufferInfo){vk_buffer_handle(be, buf), aligned, range};
    words[i] = (uint32_t)((byte_off - aligned) / 4);
  }
  if (push_bytes) memcpy(&words[n_binds], push, push_bytes);

  vk_frame *f;
  porta_status st = vk_frame_for_command(be, &f);
  if (st != PORTA_OK) return st;
  VkBufferView views[VK_MAX_BINDINGS];
  for (int i = 0; i < n_binds; i++) {
    if (!((pipe->texel_mask >> i) & 1)) continue;
    if (f->n_views == f->cap_views) {
      int cap = f->cap_views ? 2 * f->cap_views : 32;
      VkBufferView *nv = realloc(f->views, (size_t)cap * sizeof *nv);
      if (!nv) return vk_fail(be, PORTA_ERR_OUT_OF_MEMORY, "vulkan: out of host memory");
      f->views = nv;
      f->cap_views = cap;
    }
    VkBufferViewCreateInfo vinfo = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO,
        .buffer = infos[i].buffer,
        .format = VK_FORMAT_R32G32B32A32_SFLOAT,
        .offset = infos[i].offset,
        .range = infos[i].range,
    };
    VkResult vr = vkCreateBufferView(be->device, &vinfo, NULL, &views[i]);
    if (vr != VK_SUCCESS) return vk_fail_result(be, vr, "vkCreateBufferView");
    f->views[f->n_views++] = views[i]; /* destroyed when the frame completes */
  }
  VkDescriptorSetAllocateInfo ainfo = {
      .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
      .descriptorPool = f->pool,
      .descriptorSetCount = 1,
  };
  VkDescriptorSetLayout set_layout = vk_set_layout(be, pipe);
  ainfo.pSetLayouts = &set_layout;
  VkDescriptorSet set;
  VkResult r = vkAllocateDescriptorSets(be->device, &ainfo, &set);
  if (r != VK_SUCCESS) return vk_fail_result(be, r, "vkAllocateDescriptorSets");
  VkWriteDescriptorSet writes[VK_MAX_BINDINGS];
  for (int i = 0; i < n_binds; i++)
    writes[i] = (VkWriteDescriptorSet){
        .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
        .dstSet = set,
        .dstBinding = (uint32_t)i,
        .descriptorCount = 1,
        .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
        .pBufferInfo = &infos[i],
    };
  for (int i = 0; i < n_binds; i++)
    if ((pipe->texel_mask >> i) & 1) {
      writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_TEXEL_BUFFER;
      writes[i].pBufferInfo = NULL;
      writes[i].pTexelBufferView = &views[i];
    }
  vkUpdateDescriptorSets(be->device, (uint32_t)n_binds, writes, 0, NULL);

  VkPipelineLayout layout = vk_pipeline_layout(be, pipe);
  vk_barrier(be, f);
  vkCmdBindPipeline(f->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipe->pipeline);
  vkCmdBindDescriptorSets(f->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1, &set, 0, NULL);
  vkCmdPushConstants(f->cmd, layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof words, words);
  if (be->profiling && !f->timing && f->queries && (int)op < PORTA_OP_COUNT) {
    /* profiling was switched on while this frame was recording: no query written yet */
    vkCmdResetQueryPool(f->cmd, f->queries, 0, 2 * VK_MAX_DISPATCH);
    f->timing = true;
  }
  bool timed = f->timing && be->profiling && (int)op < PORTA_OP_COUNT;
  if (timed)
    vkCmdWriteTimestamp(f->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, f->queries, f->n_queries);
  vkCmdDispatch(f->cmd, gx, gy, gz);
  if (timed) {
    vkCmdWriteTimestamp(f->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, f->queries, f->n_queries + 1);
    f->query_op[f->n_queries / 2] = (uint8_t)op;
    f->n_queries += 2;
  }
  f->n_dispatch++;
  f->n_commands++;
  return PORTA_OK;
}

void vk_profile_enable(porta_backend *base, bool on) {
  vk_backend *be = (vk_backend *)base;
  be->profiling = on && be->timestamp_mask != 0;
}

void vk_count_call(vk_backend *be, porta_op op) {
  if (be->profiling && (int)op < PORTA_OP_COUNT) be->prof_calls[op]++;
}

porta_status vk_profile_read(porta_backend *base, uint64_t ns_per_op[PORTA_OP_COUNT],
                             uint64_t calls_per_op[PORTA_OP_COUNT]) {
  vk_backend *be = (vk_backend *)base;
  if (!be->timestamp_mask)
    return vk_fail(be, PORTA_ERR_UNSUPPORTED,
                   "vulkan: the compute queue of %s has no timestamps (timestampValidBits = 0)",
                   be->props.deviceName);
  porta_status st = vk_synchronize(base);
  if (st != PORTA_OK) return st;
  for (int i = 0; i < PORTA_OP_COUNT; i++) {
    if (ns_per_op) ns_per_op[i] = be->prof_ns[i];
    if (calls_per_op) calls_per_op[i] = be->prof_calls[i];
  }
  return PORTA_OK;
}
