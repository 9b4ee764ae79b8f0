#version 450
// Per row b of logits [batch, classes] (one work group or one invocation, ROW_LANES):
// probs = softmax(logits[b]) and rows[b] = -log probs[b, label] (as logsumexp - logit),
// rows[batch + b] = 1 when the label is valid (0 ≤ label < classes), else both 0.
// cross_entropy_loss.comp sums them. Large tensors come in row chunks: probs/logits are bound
// from row row0, labels and rows whole.
// porta-variant: SUBGROUP
#include "common.glsl"
#include "group_reduce.glsl"

layout(set = 0, binding = 0) writeonly buffer P { float probs[]; };
layout(set = 0, binding = 1) readonly buffer L { float logits[]; };
layout(set = 0, binding = 2) readonly buffer Labels { int labels[]; };
layout(set = 0, binding = 3) writeonly buffer Rows { float rows[]; };
layout(push_constant) uniform Push {
  uint o_p, o_l, o_labels, o_rows;
  uint batch, classes, row0, chunk_rows;
} pc;

void main() {
  uint b = row_index();
  if (b >= pc.chunk_rows) return;  // uniform across the group when ROW_LANES = 0
  uint lid = row_lane(), step = row_step();
  uint base = b * pc.classes;
  float m = -1.0 / 0.0;
  for (uint j = lid; j < pc.classes; j += step) m = max(m, logits[pc.o_l + base + j]);
  m = row_max(m);
  float s = 0.0;
  for (uint j = lid; j < pc.classes; j += step) s += exp(logits[pc.o_l + base + j] - m);
  s = row_sum(s);
  for (uint j = lid; j < pc.classes; j += step)
    probs[pc.o_p + base + j] = exp(logits[pc.o_l + base + j] - m) / s;
  if (lid == 0u) {
    int label = labels[pc.o_labels + pc.row0 + b];
    bool valid = label >= 0 && uint(label) < pc.classes;
    rows[pc.o_rows + pc.row0 + b] = valid ? log(s) + m - logits[pc.o_l + base + uint(label)] : 0.0;
    rows[pc.o_rows + pc.batch + pc.row0 + b] = valid ? 1.0 : 0.0;
  }
}
