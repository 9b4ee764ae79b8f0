#version 450
// For the deterministic embedding backward: one invocation per token t writes
// links[2t] = 1 if t is the first occurrence of its id, else 0, and
// links[2t + 1] = the next t' > t with the same id, or -1. (n_ids² compares in all: cheap
// beside the gradient itself at BERT sizes.)
#include "common.glsl"

layout(set = 0, binding = 0) writeonly buffer Links { int links[]; };
layout(set = 0, binding = 1) readonly buffer Ids { int ids[]; };
layout(push_constant) uniform Push {
  uint o_links, o_ids;
  uint n_ids;
} pc;

void main() {
  uint t = flat_index();
  if (t >= pc.n_ids) return;
  int id = ids[pc.o_ids + t];
  int head = 1;
  for (uint u = 0; u < t && head == 1; u++)
    if (ids[pc.o_ids + u] == id) head = 0;
  int next = -1;
  for (uint u = t + 1; u < pc.n_ids; u++)
    if (ids[pc.o_ids + u] == id) {
      next = int(u);
      break;
    }
  links[pc.o_links + 2 * t] = head;
  links[pc.o_links + 2 * t + 1] = next;
}
