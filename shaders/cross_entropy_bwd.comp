#version 450
// dlogits[b, c] = dloss[0] · (probs[b, c] - [c == label_b]) / n_valid for valid rows, 0 for
// invalid ones. One work group per row; each group counts the valid labels itself. Large tensors
// come in row chunks: dlogits/probs are bound from row row0, labels whole.
#include "common.glsl"
#include "group_reduce.glsl"

layout(set = 0, binding = 0) writeonly buffer DL { float dlogits[]; };
layout(set = 0, binding = 1) readonly buffer P { float probs[]; };
layout(set = 0, binding = 2) readonly buffer Labels { int labels[]; };
layout(set = 0, binding = 3) readonly buffer DLoss { float dloss[]; };
layout(push_constant) uniform Push {
  uint o_dl, o_p, o_labels, o_dloss;
  uint batch, classes, row0, chunk_rows;
} pc;

void main() {
  uint b = group_index();
  if (b >= pc.chunk_rows) return;
  uint lid = gl_LocalInvocationID.x;
  float c = 0.0;
  for (uint i = lid; i < pc.batch; i += WG) {
    int l = labels[pc.o_labels + i];
    if (l >= 0 && uint(l) < pc.classes) c += 1.0;
  }
  float n_valid = group_sum(c);
  int label = labels[pc.o_labels + pc.row0 + b];
  bool valid = label >= 0 && uint(label) < pc.classes;
  float g = valid ? dloss[pc.o_dloss] / n_valid : 0.0;
  uint base = b * pc.classes;
  for (uint j = lid; j < pc.classes; j += WG) {
    float t = int(j) == label ? 1.0 : 0.0;
    dlogits[pc.o_dl + base + j] = valid ? g * (probs[pc.o_p + base + j] - t) : 0.0;
  }
}
