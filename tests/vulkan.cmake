# Vulkan-specific ctest entries (included by tests/CMakeLists.txt): the op-conformance suite and the
# Vulkan backend's own tests once more with the Khronos validation layer (core + synchronization
# checks) on. The backend prints every validation message as "porta vulkan validation error/warning"
# and fails synchronize/download after an error; FAIL_REGULAR_EXPRESSION fails the test on any
# message, warnings included.
# Not in sanitizer builds: the validation layer (C++) leaks its own allocations and is unloaded at
# vkDestroyInstance, so LeakSanitizer cannot name it for a suppression; the same tests run there
# without the layer, with porta's leak checks intact.
if(PORTA_WITH_VULKAN AND NOT PORTA_SANITIZE)
  find_file(PORTA_VK_VALIDATION_LAYER VkLayer_khronos_validation.json
    PATHS /usr/share/vulkan/explicit_layer.d /usr/local/share/vulkan/explicit_layer.d
          /etc/vulkan/explicit_layer.d $ENV{VK_LAYER_PATH}
    NO_DEFAULT_PATH)
  if(NOT PORTA_VK_VALIDATION_LAYER)
    message(WARNING "porta: VK_LAYER_KHRONOS_validation not found (Debian: vulkan-validationlayers); "
                    "the Vulkan validation tests are not added")
  else()
    set(_vk_env "PORTA_VULKAN_VALIDATION=1" "PORTA_CACHE_DIR=${CMAKE_BINARY_DIR}/porta-cache")
    set(_vk_fail "porta vulkan validation (error|warning)")
    if(TARGET test_backend_ops)
      add_test(NAME test_backend_ops_vulkan_validation COMMAND test_backend_ops)
      set_tests_properties(test_backend_ops_vulkan_validation PROPERTIES TIMEOUT 900
        ENVIRONMENT "PORTA_TEST_BACKENDS=vulkan;${_vk_env}"
        FAIL_REGULAR_EXPRESSION "${_vk_fail};vulkan: skipped")
      # the shaders a GPU gets (tiled GEMM, row ops by work group + subgroup operations)
      add_test(NAME test_backend_ops_vulkan_validation_gpu_shaders COMMAND test_backend_ops)
      set_tests_properties(test_backend_ops_vulkan_validation_gpu_shaders PROPERTIES TIMEOUT 900
        ENVIRONMENT "PORTA_TEST_BACKENDS=vulkan;PORTA_VULKAN_GEMM=tiled;PORTA_VULKAN_ROWS=group;${_vk_env}"
        FAIL_REGULAR_EXPRESSION "${_vk_fail};vulkan: skipped")
    endif()
    foreach(t test_vulkan_backend test_vulkan_ops)
      if(TARGET ${t})
        add_test(NAME ${t}_validation COMMAND ${t})
        set_tests_properties(${t}_validation PROPERTIES TIMEOUT 900 ENVIRONMENT "${_vk_env}"
          FAIL_REGULAR_EXPRESSION "${_vk_fail};no Vulkan device")
      endif()
    endforeach()
  endif()
endif()

# The conformance suite with maxStorageBufferRange capped at 16 KiB: every tensor over 4096
# elements is then bound in ranges (row chunks, element ranges, table row ranges), the paths that
# real 128 MiB limits only reach with roberta-size tensors. Ops that cannot be split report
# "unsupported", which is not a failure.
if(PORTA_WITH_VULKAN AND TARGET test_backend_ops)
  add_test(NAME test_backend_ops_vulkan_small_range COMMAND test_backend_ops)
  set_tests_properties(test_backend_ops_vulkan_small_range PROPERTIES TIMEOUT 900
    ENVIRONMENT "PORTA_TEST_BACKENDS=vulkan;PORTA_VULKAN_MAX_RANGE=16384;PORTA_CACHE_DIR=${CMAKE_BINARY_DIR}/porta-cache"
    FAIL_REGULAR_EXPRESSION "vulkan: skipped")
endif()

# Every GEMM case once more through each shader a device class can get: lavapipe picks the texel
# shaders by itself; GPUs get the tiled one, the others are fallbacks and baselines.
if(PORTA_WITH_VULKAN AND TARGET test_backend_ops)
  foreach(variant tiled naive vec)
    add_test(NAME test_backend_ops_vulkan_gemm_${variant} COMMAND test_backend_ops)
    set_tests_properties(test_backend_ops_vulkan_gemm_${variant} PROPERTIES TIMEOUT 900
      ENVIRONMENT "PORTA_TEST_BACKENDS=vulkan;PORTA_TEST_OPS=gemm;PORTA_VULKAN_GEMM=${variant};PORTA_CACHE_DIR=${CMAKE_BINARY_DIR}/porta-cache"
      FAIL_REGULAR_EXPRESSION "vulkan: skipped")
  endforeach()
endif()

# The row ops (softmax, layer norm, cross-entropy, reduce) in each layout a device can get:
# lavapipe mostly takes one invocation per row; GPUs a work group per row reduced with subgroup
# operations; devices without subgroup arithmetic the shared-memory tree.
if(PORTA_WITH_VULKAN AND TARGET test_backend_ops)
  foreach(rows lanes group shared)
    add_test(NAME test_backend_ops_vulkan_rows_${rows} COMMAND test_backend_ops)
    set_tests_properties(test_backend_ops_vulkan_rows_${rows} PROPERTIES TIMEOUT 900
      ENVIRONMENT "PORTA_TEST_BACKENDS=vulkan;PORTA_TEST_OPS=softmax,softmax_bwd,layernorm,layernorm_bwd,cross_entropy,cross_entropy_bwd,reduce,sumsq;PORTA_VULKAN_ROWS=${rows};PORTA_CACHE_DIR=${CMAKE_BINARY_DIR}/porta-cache"
      FAIL_REGULAR_EXPRESSION "vulkan: skipped")
  endforeach()
endif()

# The conformance suite as lavapipe compiles it for other hosts: its JIT emits different code for
# each CPU, and an i32 payload quietened on a host with AVX2 but no AVX-512 went unseen on
# AVX-512 hosts. GALLIUM_OVERRIDE_CPU_CAPS=avx hides AVX-512 (keeps AVX2), =sse4.1 hides AVX;
# LP_NATIVE_VECTOR_WIDTH=128 narrows the vectors. Mesa's shader cache is off so that no code
# compiled for this host's own features is reused. Real GPUs ignore these variables.
if(PORTA_WITH_VULKAN AND TARGET test_backend_ops)
  foreach(host "avx2;GALLIUM_OVERRIDE_CPU_CAPS=avx" "sse41;GALLIUM_OVERRIDE_CPU_CAPS=sse4.1"
               "vec128;LP_NATIVE_VECTOR_WIDTH=128")
    list(GET host 0 _name)
    list(GET host 1 _setting)
    add_test(NAME test_backend_ops_vulkan_host_${_name} COMMAND test_backend_ops)
    set_tests_properties(test_backend_ops_vulkan_host_${_name} PROPERTIES TIMEOUT 900
      ENVIRONMENT "PORTA_TEST_BACKENDS=vulkan;${_setting};MESA_SHADER_CACHE_DISABLE=true;PORTA_CACHE_DIR=${CMAKE_BINARY_DIR}/porta-cache"
      FAIL_REGULAR_EXPRESSION "vulkan: skipped")
  endforeach()
endif()
