# Distributed training under MPI (included by tests/CMakeLists.txt when porta is built with MPI):
# the communicator's collectives on 2 ranks of this machine, and a stalled collective that must
# end the job within the timeout. Open MPI needs --oversubscribe (2 ranks may exceed the cores
# it counts) and --allow-run-as-root (CI runs as root); MPICH takes neither.
if(PORTA_WITH_MPI AND MPIEXEC_EXECUTABLE)
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
