# Regression entries from hardening (included by tests/CMakeLists.txt): inputs that made the
# `porta` program misbehave. Each must fail loudly (a message naming the problem), never give a
# silently wrong answer.
if(TARGET porta_cli)
  set(_rq_porta $<TARGET_FILE:porta_cli>)
  set(_rq_tiny ${CMAKE_CURRENT_SOURCE_DIR}/data/train/tiny_bert)
  # A NUL byte in a stdin line cut the text there: "good\0 movie" was tokenised as "good".
  add_test(NAME regress_cli_tokenize_nul_byte
    COMMAND sh -c "printf 'good\\000 movie\\n' | '${_rq_porta}' tokenize --model '${_rq_tiny}'")
  set_tests_properties(regress_cli_tokenize_nul_byte PROPERTIES PASS_REGULAR_EXPRESSION "NUL"
    FAIL_REGULAR_EXPRESSION "\"text\": \"good\"")
endif()
