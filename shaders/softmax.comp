#version 450
// y[r, :] = softmax(scale · x[r, :] + mask[r / mask_div, :]) over n columns; one work group or
// one invocation per row r (ROW_LANES, see group_reduce.glsl). A row that is all -inf after
// masking gives zeros. has_mask = 0: the mask binding is a dummy. Large tensors come in row
// chunks: row0 is the chunk's first row (for the mask row) and the mask binding starts at mask
// row mask_row0 = row0 / mask_div.
// porta-variant: SUBGROUP
#include "common.glsl"
#include "group_reduce.glsl"

layout(set = 0, binding = 0) writeonly buffer Y { float y[]; };
layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(set = 0, binding = 2) readonly buffer M { float mask[]; };
layout(push_constant) uniform Push {
  uint o_y, o_x, o_m;
  uint rows, n, mask_div, has_mask;
  float scale;
  uint row0, mask_row0;
} pc;

float logit(uint r, uint j) {
  float v = pc.scale * x[pc.o_x + r * pc.n + j];
  if (pc.has_mask != 0u) v += mask[pc.o_m + ((pc.row0 + r) / pc.mask_div - pc.mask_row0) * pc.n + j];
  return v;
}

void main() {
  uint r = row_index();
  if (r >= pc.rows) return;  // uniform across the group when ROW_LANES = 0
  uint lid = row_lane(), step = row_step();
  float m = -1.0 / 0.0;
  for (uint j = lid; j < pc.n; j += step) m = max(m, logit(r, j));
  m = row_max(m);
  float s = 0.0;
  if (!isinf(m) || m > 0.0)
    for (uint j = lid; j < pc.n; j += step) s += exp(logit(r, j) - m);
  s = row_sum(s);
  bool empty = isinf(m) && m < 0.0;
  float inv = empty ? 0.0 : 1.0 / s;
  for (uint j = lid; j < pc.n; j += step)
    y[pc.o_y + r * pc.n + j] = empty ? 0.0 : exp(logit(r, j) - m) * inv;
}
