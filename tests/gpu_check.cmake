# tools/gpu_check.sh in CPU-emulator mode (PORTA_GPU_CHECK_ALLOW_CPU=1: PoCL and lavapipe stand in
# for the GPU, small sizes): the script a GPU machine runs first is proven here before a GPU ever
# sees it. It uses this build's programs, skips torch (CI has none), and fails when any of its
# steps fails (self-test, conformance, bench, the short demo per backend).
if(TARGET porta_cli AND (PORTA_WITH_OPENCL OR PORTA_WITH_VULKAN))
  set(_gc_out ${CMAKE_BINARY_DIR}/gpu_check)
  add_test(NAME gpu_check_cpu_mode COMMAND sh -c
    "rm -rf '${_gc_out}' && PORTA_GPU_CHECK_ALLOW_CPU=1 PORTA_GPU_CHECK_BIN='${CMAKE_BINARY_DIR}' PORTA_GPU_CHECK_TORCH=0 PORTA_GPU_CHECK_BUDGET=240 bash '${CMAKE_SOURCE_DIR}/tools/gpu_check.sh' '${_gc_out}' && grep -q 'selftest\\*\\*: ok' '${_gc_out}/report.md'")
  set_tests_properties(gpu_check_cpu_mode PROPERTIES TIMEOUT 300)
endif()
