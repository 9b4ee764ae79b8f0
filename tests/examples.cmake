# The examples run as tests: a user program against the public API and the shared library.
if(PORTA_BUILD_EXAMPLES AND TARGET finetune_head)
  add_test(NAME example_finetune_head COMMAND finetune_head ${CMAKE_CURRENT_SOURCE_DIR}/data/bert/tiny_bert)
  set_tests_properties(example_finetune_head PROPERTIES TIMEOUT 300 ENVIRONMENT "PORTA_BACKEND=cpu")
endif()
