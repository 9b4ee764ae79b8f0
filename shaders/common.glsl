// Shared by the 1-D shaders: the work-group size WG (a specialisation constant, id 0, a power
// of two chosen per device) and the flat index of an invocation over a 2-D grid of groups
// (x ≤ 65535 groups, so large element counts spill into y).
layout(constant_id = 0) const uint WG = 256;
layout(local_size_x_id = 0) in;

uint group_index() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }
uint flat_index() { return group_index() * WG + gl_LocalInvocationID.x; }
