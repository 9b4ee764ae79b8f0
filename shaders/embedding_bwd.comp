#version 450
// dtable[ids[t], d] += dout[t, d], deterministic: one invocation per (t, d) where t is the
// first occurrence of its id walks the chain of later occurrences (embedding_bwd_links) and adds
// them in token order, so no two invocations write one row and no float atomics are needed.
// The table may be bound in row chunks [lo, hi) like embedding.comp.
#include "common.glsl"

layout(set = 0, binding = 0) buffer DTable { float dtable[]; };
layout(set = 0, binding = 1) readonly buffer DOut { float dout[]; };
layout(set = 0, binding = 2) readonly buffer Ids { int ids[]; };
layout(set = 0, binding = 3) readonly buffer Links { int links[]; };
layout(push_constant) uniform Push {
  uint o_dtable, o_dout, o_ids, o_links;
  uint n_ids, dim;
  int lo, hi;
} pc;

void main() {
  uint i = flat_index();
  if (i >= pc.n_ids * pc.dim) return;
  uint t = i / pc.dim;
  uint d = i % pc.dim;
  if (links[pc.o_links + 2 * t] == 0) return;
  int id = ids[pc.o_ids + t];
  if (id < pc.lo || id >= pc.hi) return;
  uint at = pc.o_dtable + uint(id - pc.lo) * pc.dim + d;
  float acc = dtable[at];
  for (int u = int(t); u >= 0; u = links[pc.o_links + 2 * uint(u) + 1])
    acc += dout[pc.o_dout + uint(u) * pc.dim + d];
  dtable[at] = acc;
}
