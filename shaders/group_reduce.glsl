// Work-group reductions through shared memory (a tree over WG lanes). Every invocation of the
// group must call them (they contain barriers); every invocation gets the result.
shared float red_buf[WG];

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
