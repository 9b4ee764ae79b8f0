#version 450
// out[t, d] = table[ids[t], d], one invocation per (t, d). The table may be bound in chunks of
// rows [lo, hi) (a table over maxStorageBufferRange): the binding starts at row lo, and only ids
// in the chunk are written; ids outside [0, vocab) are zeroed by the first chunk.
#include "common.glsl"

layout(set = 0, binding = 0) buffer Out { float y[]; };
layout(set = 0, binding = 1) readonly buffer Table { float table[]; };
layout(set = 0, binding = 2) readonly buffer Ids { int ids[]; };
layout(push_constant) uniform Push {
  uint o_y, o_table, o_ids;
  uint n_ids, dim;
  int lo, hi, vocab;
  uint first_chunk;
} pc;

void main() {
  uint i = flat_index();
  if (i >= pc.n_ids * pc.dim) return;
  uint t = i / pc.dim;
  uint d = i % pc.dim;
  int id = ids[pc.o_ids + t];
  if (id >= pc.lo && id < pc.hi)
    y[pc.o_y + i] = table[pc.o_table + uint(id - pc.lo) * pc.dim + d];
  else if ((id < 0 || id >= pc.vocab) && pc.first_chunk != 0u)
    y[pc.o_y + i] = 0.0;
}
