// Work-group reductions. Every invocation of the group must call them (they contain barriers);
// every invocation gets the result. Built twice (see CMakeLists.txt): plain, a shared-memory tree
// over WG lanes; with PORTA_SUBGROUP (the <name>_sg.spv variant of shaders that have a
// "porta-variant: SUBGROUP" line, used where the device has subgroup arithmetic in compute),
// subgroupAdd/subgroupMax and, when the group has several subgroups, one shared slot each.
//
// Row layout (spec constant 1, ROW_LANES): 0 = one work group per row (row_lane() strides over
// the columns by WG, row_sum/row_max reduce across the group); 1 = one invocation per row (a plain
// loop over the columns, no reduction, no barrier: best where lanes are cheap and barriers are
// not, as on CPU devices).
#ifdef PORTA_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

layout(constant_id = 1) const uint ROW_LANES = 0;

shared float red_buf[WG];

#ifdef PORTA_SUBGROUP
float group_sum(float v) {
  v = subgroupAdd(v);
  if (gl_NumSubgroups == 1u) return v;  // uniform over the group
  barrier();
  if (subgroupElect()) red_buf[gl_SubgroupID] = v;
  barrier();
  float s = 0.0;
  for (uint i = 0; i < gl_NumSubgroups; i++) s += red_buf[i];
  return s;
}

float group_max(float v) {
  v = subgroupMax(v);
  if (gl_NumSubgroups == 1u) return v;
  barrier();
  if (subgroupElect()) red_buf[gl_SubgroupID] = v;
  barrier();
  float m = red_buf[0];
  for (uint i = 1; i < gl_NumSubgroups; i++) m = max(m, red_buf[i]);
  return m;
}
#else
float group_sum(float v) {
  uint lid = gl_LocalInvocationID.x;
  barrier();
  red_buf[lid] = v;
  barrier();
  for (uint s = WG / 2; s > 0; s >>= 1) {
    if (lid < s) red_buf[lid] += red_buf[lid + s];
    barrier();
  }
  return red_buf[0];
}

float group_max(float v) {
  uint lid = gl_LocalInvocationID.x;
  barrier();
  red_buf[lid] = v;
  barrier();
  for (uint s = WG / 2; s > 0; s >>= 1) {
    if (lid < s) red_buf[lid] = max(red_buf[lid], red_buf[lid + s]);
    barrier();
  }
  return red_buf[0];
}
#endif

// The row this invocation (ROW_LANES = 1) or its group (ROW_LANES = 0) works on, its first column
// and its column step.
uint row_index() { return ROW_LANES != 0u ? flat_index() : group_index(); }
uint row_lane() { return ROW_LANES != 0u ? 0u : gl_LocalInvocationID.x; }
uint row_step() { return ROW_LANES != 0u ? 1u : WG; }
float row_sum(float v) { return ROW_LANES != 0u ? v : group_sum(v); }
float row_max(float v) { return ROW_LANES != 0u ? v : group_max(v); }
