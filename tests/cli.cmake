# ctest entries that run the built `porta` program (included by tests/CMakeLists.txt): help and
# version, devices, tokenize on the tiny model, a 1-epoch tiny train, eval and predict on its
# checkpoint, embed, and errors (bad data, missing model folder) that must exit non-zero with a
# message naming the path.
if(TARGET porta_cli)
  set(_porta $<TARGET_FILE:porta_cli>)
  set(_tiny ${CMAKE_CURRENT_SOURCE_DIR}/data/train/tiny_bert)
  set(_data ${CMAKE_CURRENT_SOURCE_DIR}/data/train/synthetic.jsonl)
  set(_expect_fail ${CMAKE_CURRENT_SOURCE_DIR}/data/train/expect_fail.sh)
  set(_run ${CMAKE_BINARY_DIR}/cli_tiny_run)
  set(_env "PORTA_CACHE_DIR=${CMAKE_BINARY_DIR}/porta-cache")

  add_test(NAME cli_help COMMAND ${_porta} --help)
  set_tests_properties(cli_help PROPERTIES PASS_REGULAR_EXPRESSION "train.*eval.*predict.*tokenize.*embed.*devices")
  add_test(NAME cli_train_help COMMAND ${_porta} train --help)
  set_tests_properties(cli_train_help PROPERTIES PASS_REGULAR_EXPRESSION "--max-grad-norm")
  add_test(NAME cli_version COMMAND ${_porta} --version)
  set_tests_properties(cli_version PROPERTIES PASS_REGULAR_EXPRESSION "porta [0-9]+\\.[0-9]+\\.[0-9]+.*backends: cpu")
  add_test(NAME cli_devices COMMAND ${_porta} devices)
  set_tests_properties(cli_devices PROPERTIES PASS_REGULAR_EXPRESSION "cpu: 1 device" ENVIRONMENT "${_env}")
  # without any OpenCL / Vulkan driver: a line saying so per backend, and still exit code 0
  add_test(NAME cli_devices_no_driver COMMAND ${_porta} devices)
  set_tests_properties(cli_devices_no_driver PROPERTIES
    ENVIRONMENT "OCL_ICD_VENDORS=/nonexistent;OCL_ICD_FILENAMES=/nonexistent;VK_ICD_FILENAMES=/nonexistent.json;VK_DRIVER_FILES=/nonexistent.json"
    FAIL_REGULAR_EXPRESSION "(opencl|vulkan): [0-9]+ device")
  # the device self-test of every device here (CPU, PoCL, lavapipe): exit 0 only when every path
  # a device would use passes; and --backend auto never takes an emulator over the CPU backend
  add_test(NAME cli_devices_selftest COMMAND ${_porta} devices --selftest)
  set_tests_properties(cli_devices_selftest PROPERTIES ENVIRONMENT "${_env}" TIMEOUT 300
    PASS_REGULAR_EXPRESSION "cpu 0: .*ops .*verdict: pass")
  add_test(NAME cli_devices_auto COMMAND ${_porta} devices)
  set_tests_properties(cli_devices_auto PROPERTIES ENVIRONMENT "${_env}"
    PASS_REGULAR_EXPRESSION "--backend auto: (cpu 0: .*\\(auto: the CPU backend|(opencl|vulkan) [0-9]+: .*\\(auto: (discrete|integrated) GPU)")
  add_test(NAME cli_unknown_verb COMMAND ${_porta} frobnicate)
  set_tests_properties(cli_unknown_verb PROPERTIES WILL_FAIL TRUE)

  # [CLS] good movie [SEP] in the tiny vocabulary
  add_test(NAME cli_tokenize COMMAND sh -c "printf 'Good movie\\r\\n' | '${_porta}' tokenize --model '${_tiny}'")
  set_tests_properties(cli_tokenize PROPERTIES PASS_REGULAR_EXPRESSION "\"ids\": \\[2, 5, 15, 3\\]")

  add_test(NAME cli_train_tiny COMMAND ${CMAKE_COMMAND} -E env ${_env}
    ${_porta} train --model ${_tiny} --data ${_data} --out ${_run} --epochs 1 --batch-size 16 --lr 5e-3 --threads 1
    --backend cpu --log-every 5)
  set_tests_properties(cli_train_tiny PROPERTIES FIXTURES_SETUP porta_cli_run
    PASS_REGULAR_EXPRESSION "test \\(best checkpoint\\).*accuracy")
  add_test(NAME cli_eval_tiny COMMAND ${_porta} eval --model ${_run}/best --data ${_data} --backend cpu)
  set_tests_properties(cli_eval_tiny PROPERTIES FIXTURES_REQUIRED porta_cli_run
    PASS_REGULAR_EXPRESSION "accuracy [0-9.]+ .*F1")
  add_test(NAME cli_eval_run_split COMMAND ${_porta} eval --run ${_run} --split test --json)
  set_tests_properties(cli_eval_run_split PROPERTIES FIXTURES_REQUIRED porta_cli_run
    PASS_REGULAR_EXPRESSION "\"rows\": 26, .*\"confusion\"")
  add_test(NAME cli_predict_tiny COMMAND ${_porta} predict --model ${_run}/best "a good movie" "a sad day")
  set_tests_properties(cli_predict_tiny PROPERTIES FIXTURES_REQUIRED porta_cli_run
    PASS_REGULAR_EXPRESSION "0=[0-9.]+ 1=[0-9.]+\ta good movie")
  add_test(NAME cli_predict_stdin_json COMMAND sh -c "printf 'so fun\\nso dull\\n' | '${_porta}' predict --json --model '${_run}/best'")
  set_tests_properties(cli_predict_stdin_json PROPERTIES FIXTURES_REQUIRED porta_cli_run
    PASS_REGULAR_EXPRESSION "\"text\": \"so dull\", \"label\": \"[01]\", \"label_id\": [01], \"probabilities\"")
  add_test(NAME cli_embed_tiny COMMAND sh -c "printf 'a good movie\\n' | '${_porta}' embed --model '${_tiny}' --normalize")
  set_tests_properties(cli_embed_tiny PROPERTIES PASS_REGULAR_EXPRESSION "\"embedding\": \\[")

  # errors: non-zero exit, and the message names the path
  add_test(NAME cli_train_missing_data COMMAND sh ${_expect_fail} /nonexistent/rows.jsonl
    ${_porta} train --model ${_tiny} --data /nonexistent/rows.jsonl --out ${CMAKE_BINARY_DIR}/cli_bad_run)
  add_test(NAME cli_train_bad_data COMMAND sh ${_expect_fail} "${_tiny}/vocab.txt: no readable row"
    ${_porta} train --model ${_tiny} --data ${_tiny}/vocab.txt --out ${CMAKE_BINARY_DIR}/cli_bad_run)
  add_test(NAME cli_train_missing_model COMMAND sh ${_expect_fail} /nonexistent/model-folder
    ${_porta} train --model /nonexistent/model-folder --data ${_data} --out ${CMAKE_BINARY_DIR}/cli_bad_run)
  add_test(NAME cli_predict_missing_model COMMAND sh ${_expect_fail} /nonexistent/checkpoint
    ${_porta} predict --model /nonexistent/checkpoint "text")
endif()

# A folder holding only pytorch_model.bin (zip and legacy formats): embed and train work from it,
# and `porta convert` writes model.safetensors beside it.
if(TARGET porta_cli)
  foreach(_fmt bin legacy)
    set(_src ${CMAKE_CURRENT_SOURCE_DIR}/data/train/tiny_bert_${_fmt})
    add_test(NAME cli_embed_${_fmt}_only COMMAND sh -c
      "printf 'good movie\\n' | '$<TARGET_FILE:porta_cli>' embed --model '${_src}' --backend cpu")
    set_tests_properties(cli_embed_${_fmt}_only PROPERTIES PASS_REGULAR_EXPRESSION "\"embedding\": \\[")
    add_test(NAME cli_train_${_fmt}_only COMMAND ${CMAKE_COMMAND} -E env
      "PORTA_CACHE_DIR=${CMAKE_BINARY_DIR}/porta-cache"
      $<TARGET_FILE:porta_cli> train --model ${_src} --data ${CMAKE_CURRENT_SOURCE_DIR}/data/train/synthetic.jsonl
      --out ${CMAKE_BINARY_DIR}/cli_${_fmt}_run --max-steps 4 --batch-size 16 --backend cpu --threads 1)
    set_tests_properties(cli_train_${_fmt}_only PROPERTIES PASS_REGULAR_EXPRESSION "accuracy")
  endforeach()
  add_test(NAME cli_convert_bin COMMAND sh -c
    "rm -rf '${CMAKE_BINARY_DIR}/convert_bin' && cp -r '${CMAKE_CURRENT_SOURCE_DIR}/data/train/tiny_bert_bin' '${CMAKE_BINARY_DIR}/convert_bin' && '$<TARGET_FILE:porta_cli>' convert '${CMAKE_BINARY_DIR}/convert_bin' && test -s '${CMAKE_BINARY_DIR}/convert_bin/model.safetensors'")
  # --profile: each op's share of the device time after training
  add_test(NAME cli_train_profile COMMAND ${CMAKE_COMMAND} -E env ${_env}
    ${_porta} train --model ${_tiny} --data ${_data} --out ${CMAKE_BINARY_DIR}/cli_profile_run
    --epochs 1 --max-steps 3 --batch-size 16 --threads 1 --backend cpu --profile)
  set_tests_properties(cli_train_profile PROPERTIES
    PASS_REGULAR_EXPRESSION "profile:\nop +calls +ms +share.*\ngemm +[0-9]+ ")
  # porta bench on the tiny model: a training step's figure and, with --profile, its op shares
  add_test(NAME cli_bench_profile COMMAND ${CMAKE_COMMAND} -E env ${_env}
    ${_porta} bench --backend cpu --sections train,eval --model ${_tiny} --batch 2 --seqs 8
    --repeat 1 --threads 1 --profile)
  set_tests_properties(cli_bench_profile PROPERTIES
    PASS_REGULAR_EXPRESSION "train bert b2 s8 .*seq/s.*\ngemm +[0-9]+ +[0-9.]+ +[0-9.]+%.*eval")
endif()
