/* Device memory: large blocks (one vkAllocateMemory + one VkBuffer each) sub-allocated first-fit
 * from a sorted free list, so a model's hundreds of tensors cost a handful of driver
 * allocations (drivers may cap them at 4096). Buffers larger than a block get a block of their
 * own. Upload and download go through the frames' host-visible staging buffers. */
#include <stdlib.h>
#include <string.h>

#include "backend/vulkan/vk_internal.h"

static int find_memory_type(const VkPhysicalDeviceMemoryProperties *mp, uint32_t bits,
                            VkMemoryPropertyFlags want) {
  for (uint32_t i = 0; i < mp->memoryTypeCount; i++)
    if ((bits & (1u << i)) && (mp->memoryTypes[i].propertyFlags & want) == want) return (int)i;
  return -1;
}

/* Creates a buffer over fresh memory of `size` bytes of memory type `type`. */
porta_status vk_make_buffer(vk_backend *be, VkDeviceSize size, VkBufferUsageFlags usage,
                            VkMemoryPropertyFlags want, VkMemoryPropertyFlags fallback,
                            VkBuffer *buf, VkDeviceMemory *mem) {
  *buf = VK_NULL_HANDLE;
  *mem = VK_NULL_HANDLE;
  VkBufferCreateInfo binfo = {
      .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
      .size = size,
      .usage = usage,
      .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
  };
  VkResult r = vkCreateBuffer(be->device, &binfo, NULL, buf);
  if (r != VK_SUCCESS) {
    *buf = VK_NULL_HANDLE;
    return vk_fail_result(be, r, "vkCreateBuffer");
  }
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(be->device, *buf, &req);
  int type = find_memory_type(&be->mem_props, req.memoryTypeBits, want);
  if (type < 0) type = find_memory_type(&be->mem_props, req.memoryTypeBits, fallback);
  if (type < 0) {
    vkDestroyBuffer(be->device, *buf, NULL);
    *buf = VK_NULL_HANDLE;
    return vk_fail(be, PORTA_ERR_BACKEND, "vulkan: no suitable memory type (flags 0x%x)",
                   (unsigned)fallback);
  }
  VkMemoryAllocateInfo ainfo = {
      .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
      .allocationSize = req.size,
      .memoryTypeIndex = (uint32_t)type,
  };
  r = vkAllocateMemory(be->device, &ainfo, NULL, mem);
  if (r == VK_SUCCESS) r = vkBindBufferMemory(be->device, *buf, *mem, 0);
  if (r != VK_SUCCESS) {
    vkDestroyBuffer(be->device, *buf, NULL);
    if (*mem) vkFreeMemory(be->device, *mem, NULL);
    *buf = VK_NULL_HANDLE;
    *mem = VK_NULL_HANDLE;
    return vk_fail(be,
                   r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY
                       ? PORTA_ERR_DEVICE_MEMORY
                       : PORTA_ERR_BACKEND,
                   "vulkan: allocating %llu bytes of device memory failed: %s",
                   (unsigned long long)size, vk_result_name(r));
  }
  return PORTA_OK;
}

porta_status vk_memory_init(vk_backend *be) {
  vkGetPhysicalDeviceMemoryProperties(be->physical, &be->mem_props);
  VkDeviceSize align = be->props.limits.minStorageBufferOffsetAlignment;
  be->alignment = align > 256 ? align : 256;
  be->max_range = be->props.limits.maxStorageBufferRange;
  /* PORTA_VULKAN_MAX_RANGE=<bytes> lowers it, so tests can exercise the range splitting with
   * small tensors */
  const char *cap = getenv("PORTA_VULKAN_MAX_RANGE");
  if (cap && strtoull(cap, NULL, 10) >= 4096 && strtoull(cap, NULL, 10) < be->max_range)
    be->max_range = strtoull(cap, NULL, 10);
  VkPhysicalDeviceMaintenance3Properties m3 = {
      .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceProperties2 props2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                        .pNext = &m3};
  vkGetPhysicalDeviceProperties2(be->physical, &props2);
  be->max_allocation = m3.maxMemoryAllocationSize ? m3.maxMemoryAllocationSize : (1ull << 30);
  be->block_bytes = VK_BLOCK_BYTES < be->max_allocation ? VK_BLOCK_BYTES : be->max_allocation;
  return vk_buffer_alloc(be, 256, &be->dummy);
}

void vk_memory_destroy(vk_backend *be) {
  for (int i = 0; i < be->n_blocks; i++) {
    if (be->blocks[i].buffer) vkDestroyBuffer(be->device, be->blocks[i].buffer, NULL);
    if (be->blocks[i].memory) vkFreeMemory(be->device, be->blocks[i].memory, NULL);
    free(be->blocks[i].free_ranges);
  }
  free(be->blocks);
  free(be->dummy);
  free(be->scratch);
  be->blocks = NULL;
  be->n_blocks = 0;
}

VkBuffer vk_buffer_handle(vk_backend *be, const vk_buffer *buf) {
  return be->blocks[buf->block].buffer;
}

static bool push_range(vk_block *b, int at, VkDeviceSize offset, VkDeviceSize size) {
  if (b->n_free == b->cap_free) {
    int cap = b->cap_free ? 2 * b->cap_free : 8;
    vk_range *r = realloc(b->free_ranges, (size_t)cap * sizeof *r);
    if (!r) return false;
    b->free_ranges = r;
    b->cap_free = cap;
  }
  memmove(&b->free_ranges[at + 1], &b->free_ranges[at],
          (size_t)(b->n_free - at) * sizeof(vk_range));
  b->free_ranges[at] = (vk_range){offset, size};
  b->n_free++;
  return true;
}

/* First fit in block b; returns false when no range is large enough. */
static bool take_range(vk_block *b, VkDeviceSize size, VkDeviceSize *offset) {
  for (int i = 0; i < b->n_free; i++) {
    vk_range *r = &b->free_ranges[i];
    if (r->size < size) continue;
    *offset = r->offset;
    r->offset += size;
    r->size -= size;
    if (r->size == 0) {
      memmove(r, r + 1, (size_t)(b->n_free - i - 1) * sizeof *r);
      b->n_free--;
    }
    return true;
  }
  return false;
}

static porta_status add_block(vk_backend *be, VkDeviceSize size, bool dedicated, int *index) {
  /* reuse the slot of a released dedicated block */
  int slot = -1;
  for (int i = 0; i < be->n_blocks; i++)
    if (!be->blocks[i].buffer) slot = i;
  if (slot < 0) {
    if (be->n_blocks == be->cap_blocks) {
      int cap = be->cap_blocks ? 2 * be->cap_blocks : 16;
      vk_block *nb = realloc(be->blocks, (size_t)cap * sizeof *nb);
      if (!nb) return vk_fail(be, PORTA_ERR_OUT_OF_MEMORY, "vulkan: out of host memory");
      be->blocks = nb;
      be->cap_blocks = cap;
    }
    slot = be->n_blocks++;
    memset(&be->blocks[slot], 0, sizeof be->blocks[slot]);
  }
  vk_block *b = &be->blocks[slot];
  porta_status st =
      vk_make_buffer(be, size,
                     VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT |
                         VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                     VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0, &b->buffer, &b->memory);
  if (st != PORTA_OK) return st;
  b->size = size;
  b->dedicated = dedicated;
  b->n_free = 0;
  if (!dedicated && !push_range(b, 0, 0, size)) {
    vkDestroyBuffer(be->device, b->buffer, NULL);
    vkFreeMemory(be->device, b->memory, NULL);
    b->buffer = VK_NULL_HANDLE;
    b->memory = VK_NULL_HANDLE;
    return vk_fail(be, PORTA_ERR_OUT_OF_MEMORY, "vulkan: out of host memory");
  }
  *index = slot;
  return PORTA_OK;
}

porta_status vk_buffer_alloc(vk_backend *be, size_t bytes, vk_buffer **out) {
  *out = NULL;
  vk_buffer *buf = calloc(1, sizeof *buf);
  if (!buf) return vk_fail(be, PORTA_ERR_OUT_OF_MEMORY, "vulkan: out of host memory");
  VkDeviceSize want = bytes ? bytes : 4;
  VkDeviceSize reserved = (want + be->alignment - 1) / be->alignment * be->alignment;
  if (reserved > be->max_allocation) {
    free(buf);
    return vk_fail(be, PORTA_ERR_DEVICE_MEMORY,
                   "vulkan: a buffer of %llu bytes is larger than %s allows in one allocation "
                   "(maxMemoryAllocationSize %llu)",
                   (unsigned long long)want, be->props.deviceName,
                   (unsigned long long)be->max_allocation);
  }
  buf->size = want;
  buf->reserved = reserved;
  if (reserved > be->block_bytes / 2) {
    porta_status st = add_block(be, reserved, true, &buf->block);
    if (st != PORTA_OK) {
      free(buf);
      return st;
    }
    buf->offset = 0;
    *out = buf;
    return PORTA_OK;
  }
  for (int i = 0; i < be->n_blocks; i++) {
    vk_block *b = &be->blocks[i];
    if (!b->buffer || b->dedicated) continue;
    if (take_range(b, reserved, &buf->offset)) {
      buf->block = i;
      *out = buf;
      return PORTA_OK;
    }
  }
  int index;
  porta_status st = add_block(be, be->block_bytes, false, &index);
  if (st != PORTA_OK) {
    free(buf);
    return st;
  }
  take_range(&be->blocks[index], reserved, &buf->offset);
  buf->block = index;
  *out = buf;
  return PORTA_OK;
}

void vk_buffer_release(vk_backend *be, vk_buffer *buf) {
  if (!buf) return;
  vk_block *b = &be->blocks[buf->block];
  if (b->dedicated) {
    vkDestroyBuffer(be->device, b->buffer, NULL);
    vkFreeMemory(be->device, b->memory, NULL);
    b->buffer = VK_NULL_HANDLE;
    b->memory = VK_NULL_HANDLE;
    free(buf);
    return;
  }
  /* insert sorted, then merge with the neighbours */
  int at = 0;
  while (at < b->n_free && b->free_ranges[at].offset < buf->offset) at++;
  if (!push_range(b, at, buf->offset, buf->reserved)) {
    free(buf); /* host OOM: the range leaks inside the block, nothing worse */
    return;
  }
  if (at + 1 < b->n_free &&
      b->free_ranges[at].offset + b->free_ranges[at].size == b->free_ranges[at + 1].offset) {
    b->free_ranges[at].size += b->free_ranges[at + 1].size;
    memmove(&b->free_ranges[at + 1], &b->free_ranges[at + 2],
            (size_t)(b->n_free - at - 2) * sizeof(vk_range));
    b->n_free--;
  }
  if (at > 0 &&
      b->free_ranges[at - 1].offset + b->free_ranges[at - 1].size == b->free_ranges[at].offset) {
    b->free_ranges[at - 1].size += b->free_ranges[at].size;
    memmove(&b->free_ranges[at], &b->free_ranges[at + 1],
            (size_t)(b->n_free - at - 1) * sizeof(vk_range));
    b->n_free--;
  }
  free(buf);
}

/* A scratch buffer of at least `bytes`, valid until the next call (the old one is freed deferred,
 * so work already recorded keeps its memory). */
porta_status vk_scratch(vk_backend *be, size_t bytes, vk_buffer **out) {
  if (be->scratch && be->scratch->size >= bytes) {
    *out = be->scratch;
    return PORTA_OK;
  }
  size_t want = bytes < (1u << 20) ? (1u << 20) : bytes;
  vk_buffer *nb;
  porta_status st = vk_buffer_alloc(be, want, &nb);
  if (st != PORTA_OK) return st;
  if (be->scratch) vk_defer_free(be, be->scratch);
  be->scratch = nb;
  *out = nb;
  return PORTA_OK;
}

/* ---- the vtable's buffer entries ---------------------------------------------------------- */

porta_status vk_alloc(porta_backend *base, size_t bytes, void **out) {
  vk_backend *be = (vk_backend *)base;
  vk_buffer *buf = NULL;
  porta_status st = vk_buffer_alloc(be, bytes, &buf);
  *out = buf;
  return st;
}

void vk_free(porta_backend *base, void *buf) {
  if (buf) vk_defer_free((vk_backend *)base, buf);
}

static porta_status check_range(vk_backend *be, const char *what, const vk_buffer *buf,
                                size_t offset, size_t bytes) {
  if (!buf) return vk_fail(be, PORTA_ERR_INVALID_ARGUMENT, "vulkan: %s: NULL buffer", what);
  if (offset > buf->size || bytes > buf->size - offset)
    return vk_fail(be, PORTA_ERR_INVALID_ARGUMENT,
                   "vulkan: %s of %zu bytes at offset %zu is outside the %llu-byte buffer", what,
                   bytes, offset, (unsigned long long)buf->size);
  return PORTA_OK;
}

porta_status vk_upload(porta_backend *base, void *dst, size_t offset, const void *src,
                       size_t bytes) {
  vk_backend *be = (vk_backend *)base;
  vk_buffer *buf = dst;
  porta_status st = check_range(be, "upload", buf, offset, bytes);
  if (st != PORTA_OK) return st;
  const unsigned char *p = src;
  while (bytes > 0) {
    VkDeviceSize chunk = bytes < VK_STAGING_BYTES ? bytes : VK_STAGING_BYTES;
    vk_frame *f;
    VkDeviceSize soff;
    if ((st = vk_frame_for_staging(be, chunk, &f, &soff)) != PORTA_OK) return st;
    memcpy(f->staging_map + soff, p, chunk);
    vk_barrier(be, f);
    VkBufferCopy region = {.srcOffset = soff, .dstOffset = buf->offset + offset, .size = chunk};
    vkCmdCopyBuffer(f->cmd, f->staging, vk_buffer_handle(be, buf), 1, &region);
    f->n_commands++;
    p += chunk;
    offset += chunk;
    bytes -= chunk;
  }
  return PORTA_OK;
}

porta_status vk_download(porta_backend *base, void *srcbuf, size_t offset, void *dst,
                         size_t bytes) {
  vk_backend *be = (vk_backend *)base;
  vk_buffer *buf = srcbuf;
  porta_status st = check_range(be, "download", buf, offset, bytes);
  if (st != PORTA_OK) return st;
  unsigned char *p = dst;
  while (bytes > 0) {
    VkDeviceSize chunk = bytes < VK_STAGING_BYTES ? bytes : VK_STAGING_BYTES;
    vk_frame *f;
    VkDeviceSize soff;
    if ((st = vk_frame_for_staging(be, chunk, &f, &soff)) != PORTA_OK) return st;
    vk_barrier(be, f);
    VkBufferCopy region = {.srcOffset = buf->offset + offset, .dstOffset = soff, .size = chunk};
    vkCmdCopyBuffer(f->cmd, vk_buffer_handle(be, buf), f->staging, 1, &region);
    f->n_commands++;
    /* make the transfer write visible to the host read after the fence */
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(f->cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                         &mb, 0, NULL, 0, NULL);
    int index = be->cur;
    if ((st = vk_submit(be)) != PORTA_OK) return st;
    if ((st = vk_wait_frame(be, index)) != PORTA_OK) return st;
    /* the frame is idle and nothing writes its staging before the next record */
    memcpy(p, f->staging_map + soff, chunk);
    p += chunk;
    offset += chunk;
    bytes -= chunk;
  }
  if (be->validation_errors)
    return vk_fail(be, PORTA_ERR_BACKEND, "vulkan: %d validation error(s) reported (see stderr)",
                   be->validation_errors);
  return PORTA_OK;
}

porta_status vk_copy(porta_backend *base, void *dstbuf, size_t dst_offset, void *srcbuf,
                     size_t src_offset, size_t bytes) {
  vk_backend *be = (vk_backend *)base;
  vk_buffer *d = dstbuf, *s = srcbuf;
  porta_status st;
  if ((st = check_range(be, "copy (destination)", d, dst_offset, bytes)) != PORTA_OK ||
      (st = check_range(be, "copy (source)", s, src_offset, bytes)) != PORTA_OK)
    return st;
  if (bytes == 0) return PORTA_OK;
  vk_frame *f;
  if ((st = vk_frame_for_command(be, &f)) != PORTA_OK) return st;
  vk_barrier(be, f);
  VkBufferCopy region = {
      .srcOffset = s->offset + src_offset, .dstOffset = d->offset + dst_offset, .size = bytes};
  vkCmdCopyBuffer(f->cmd, vk_buffer_handle(be, s), vk_buffer_handle(be, d), 1, &region);
  f->n_commands++;
  return PORTA_OK;
}

porta_status vk_fill(porta_backend *base, porta_ref out, int64_t n, float value) {
  vk_backend *be = (vk_backend *)base;
  vk_buffer *buf = out.buf;
  if (n < 0)
    return vk_fail(be, PORTA_ERR_INVALID_ARGUMENT, "vulkan: fill: negative count %lld",
                   (long long)n);
  porta_status st = check_range(be, "fill", buf, out.off * 4, (size_t)n * 4);
  if (st != PORTA_OK) return st;
  if (n == 0) return PORTA_OK;
  vk_frame *f;
  if ((st = vk_frame_for_command(be, &f)) != PORTA_OK) return st;
  uint32_t bits;
  memcpy(&bits, &value, 4);
  vk_barrier(be, f);
  vkCmdFillBuffer(f->cmd, vk_buffer_handle(be, buf), buf->offset + out.off * 4, (VkDeviceSize)n * 4,
                  bits);
  f->n_commands++;
  return PORTA_OK;
}
