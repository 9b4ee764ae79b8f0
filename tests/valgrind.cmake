# valgrind memcheck entries (included by tests/CMakeLists.txt): every CPU test, and the porta
# program's embed and train --max-steps 2 on the tiny model, once more under tools/valgrind.sh (invalid reads/writes, uninitialised values, definite leaks fail). Slow, so only
# with -DPORTA_VALGRIND=ON or PORTA_VALGRIND=1 in the environment at configure time. GPU-only tests
# are left out; with GPU backends compiled in, so are the tests that try every backend regardless
# of PORTA_TEST_BACKENDS (a CPU-only build, -DPORTA_WITH_OPENCL=OFF -DPORTA_WITH_VULKAN=OFF, runs all).
option(PORTA_VALGRIND "Add valgrind memcheck runs of the CPU tests to ctest" OFF)
find_program(PORTA_VALGRIND_PROGRAM valgrind)
if((PORTA_VALGRIND OR "$ENV{PORTA_VALGRIND}" STREQUAL "1") AND NOT PORTA_SANITIZE)
  if(NOT PORTA_VALGRIND_PROGRAM)
    message(WARNING "porta: PORTA_VALGRIND is set but valgrind is not installed; no valgrind tests")
  else()
    set(_vg_skip test_opencl_backend test_vulkan_backend test_vulkan_ops test_vulkan_gemm_bench)
    if(PORTA_WITH_OPENCL OR PORTA_WITH_VULKAN)
      list(APPEND _vg_skip test_bert_parity test_core_context test_train_tiny)
    endif()
    foreach(src IN LISTS PORTA_TEST_SOURCES)
      get_filename_component(_vg_name ${src} NAME_WE)
      if(TARGET ${_vg_name} AND NOT _vg_name IN_LIST _vg_skip)
        add_test(NAME valgrind_${_vg_name}
          COMMAND bash ${CMAKE_SOURCE_DIR}/tools/valgrind.sh ${CMAKE_BINARY_DIR} ${_vg_name})
        set_tests_properties(valgrind_${_vg_name} PROPERTIES TIMEOUT 3600 LABELS valgrind)
      endif()
    endforeach()
    # the porta program's load paths (config.json, tokenizer, run folder) on the tiny model
    if(TARGET porta_cli)
      foreach(_vg_name cli_embed cli_train)
        add_test(NAME valgrind_${_vg_name}
          COMMAND bash ${CMAKE_SOURCE_DIR}/tools/valgrind.sh ${CMAKE_BINARY_DIR} ${_vg_name})
        set_tests_properties(valgrind_${_vg_name} PROPERTIES TIMEOUT 900 LABELS valgrind)
      endforeach()
    endif()
  endif()
endif()
