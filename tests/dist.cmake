# Distributed training under MPI (included by tests/CMakeLists.txt when porta is built with MPI):
# the communicator's collectives on 2 ranks of this machine, and a stalled collective that must
# end the job within the timeout. Open MPI needs --oversubscribe (2 ranks may exceed the cores
# it counts) and --allow-run-as-root (CI runs as root); MPICH takes neither.
# Not under the sanitizers: Open MPI leaks past MPI_Finalize inside components it dlcloses, so
# LeakSanitizer cannot name (and a suppression cannot select) those frames, and a blanket leak
# switch-off is not acceptable. The single-process runs of test_dist_comm and test_batch_shard
# still run under ASan + UBSan, and the 2-rank tests in the normal build.
if(PORTA_WITH_MPI AND MPIEXEC_EXECUTABLE AND NOT PORTA_SANITIZE)
  execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version OUTPUT_VARIABLE _mpiexec_version ERROR_QUIET)
  set(PORTA_MPIEXEC ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} 2)
  if(_mpiexec_version MATCHES "Open MPI|OpenRTE")
    list(APPEND PORTA_MPIEXEC --oversubscribe --allow-run-as-root)
  endif()
  set(_expect_fail ${CMAKE_CURRENT_SOURCE_DIR}/data/train/expect_fail.sh)

  # mpirun exits non-zero when a rank does
  add_test(NAME dist_comm_2ranks COMMAND ${PORTA_MPIEXEC} $<TARGET_FILE:test_dist_comm> --expect-size 2)
  set_tests_properties(dist_comm_2ranks PROPERTIES TIMEOUT 120)
  add_test(NAME dist_comm_stall COMMAND sh ${_expect_fail} "stall detected: ok"
    ${PORTA_MPIEXEC} $<TARGET_FILE:test_dist_comm> --stall)
  set_tests_properties(dist_comm_stall PROPERTIES TIMEOUT 60)
endif()

# porta train on 2 ranks against one process (per-step losses, one run folder, resume with
# another rank count) on each backend, and the faults (a failed rank, a killed rank).
if(PORTA_WITH_MPI AND MPIEXEC_EXECUTABLE AND TARGET porta_cli AND NOT PORTA_SANITIZE)
  set(_dist ${CMAKE_CURRENT_SOURCE_DIR}/dist)
  set(_backends cpu)
  if(PORTA_WITH_OPENCL)
    list(APPEND _backends opencl)
  endif()
  if(PORTA_WITH_VULKAN)
    list(APPEND _backends vulkan)
  endif()
  foreach(backend IN LISTS _backends)
    add_test(NAME dist_train_2ranks_${backend} COMMAND sh ${_dist}/train_ranks.sh
      $<TARGET_FILE:porta_cli> ${backend} ${CMAKE_BINARY_DIR}/dist_train_${backend} ${PORTA_MPIEXEC})
    set_tests_properties(dist_train_2ranks_${backend} PROPERTIES TIMEOUT 300
      ENVIRONMENT "PORTA_CACHE_DIR=${CMAKE_BINARY_DIR}/porta-cache")
  endforeach()
  set(_mpiexec_flags "")
  if(_mpiexec_version MATCHES "Open MPI|OpenRTE")
    set(_mpiexec_flags --oversubscribe --allow-run-as-root)
  endif()
  add_test(NAME dist_train_faults COMMAND sh ${_dist}/faults.sh $<TARGET_FILE:porta_cli>
    ${CMAKE_BINARY_DIR}/dist_faults ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${_mpiexec_flags})
  set_tests_properties(dist_train_faults PROPERTIES TIMEOUT 180)
endif()
