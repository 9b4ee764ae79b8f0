# Training checks against outside references (included by tests/CMakeLists.txt):
# - parity: 20 steps of `porta train` on tests/data/train/tiny_bert_nodrop (every dropout 0, a fixed
#   classifier in the checkpoint that porta keeps) must log the same per-step losses as PyTorch on
#   the same model, data, split, batches and settings (tests/data/train/parity/torch_losses.json,
#   written by tools/gen_train_parity_fixture.py). Tolerance 1e-4 absolute on every step; measured
#   agreement is 1e-6 (the 6 decimals of metrics.jsonl) on cpu, opencl (PoCL) and vulkan (lavapipe).
# - roberta: a tiny random RoBERTa with the byte-level BPE of tests/data/tokenizers/bpe trains via
#   the CLI: 1 epoch prints the test accuracy line; 3 epochs must cut the loss (last 3 steps below
#   half the first 3) and reach test accuracy 1 on the separable synthetic rows; 10 steps on each
#   GPU backend print the accuracy line.
if(TARGET porta_cli)
  set(_porta $<TARGET_FILE:porta_cli>)
  set(_train_data ${CMAKE_CURRENT_SOURCE_DIR}/data/train)
  set(_parity ${_train_data}/parity)
  set(_env "PORTA_CACHE_DIR=${CMAKE_BINARY_DIR}/porta-cache")
  set(_backends cpu)
  if(PORTA_WITH_OPENCL)
    list(APPEND _backends opencl)
  endif()
  if(PORTA_WITH_VULKAN)
    list(APPEND _backends vulkan)
  endif()

  foreach(_b IN LISTS _backends)
    set(_run ${CMAKE_BINARY_DIR}/train_parity_${_b})
    add_test(NAME train_parity_torch_${_b} COMMAND sh ${_parity}/compare_losses.sh
      ${_parity}/torch_losses.json 1e-4 ${_run}
      ${CMAKE_COMMAND} -E env ${_env}
      ${_porta} train --model ${_train_data}/tiny_bert_nodrop --data ${_train_data}/synthetic.jsonl --out ${_run}
      --epochs 2 --max-steps 20 --batch-size 16 --lr 5e-3 --dropout 0 --threads 1 --backend ${_b} --no-progress)
    set_tests_properties(train_parity_torch_${_b} PROPERTIES TIMEOUT 300)
  endforeach()

  set(_roberta ${_train_data}/tiny_roberta)
  add_test(NAME train_roberta_tiny_cpu COMMAND ${CMAKE_COMMAND} -E env ${_env}
    ${_porta} train --model ${_roberta} --data ${_train_data}/synthetic.jsonl --out ${CMAKE_BINARY_DIR}/train_roberta_cpu
    --epochs 1 --batch-size 16 --lr 5e-3 --threads 1 --backend cpu --log-every 5)
  set_tests_properties(train_roberta_tiny_cpu PROPERTIES
    PASS_REGULAR_EXPRESSION "model: .*tiny_roberta \\(roberta, 2 layers.*test \\(best checkpoint\\).*accuracy")
  set(_run ${CMAKE_BINARY_DIR}/train_roberta_learns)
  add_test(NAME train_roberta_tiny_learns COMMAND sh -c
    "rm -rf '${_run}' && PORTA_CACHE_DIR='${CMAKE_BINARY_DIR}/porta-cache' '${_porta}' train --model '${_roberta}' --data '${_train_data}/synthetic.jsonl' --out '${_run}' --epochs 3 --batch-size 16 --lr 5e-3 --threads 1 --backend cpu --no-progress --log-every 13 && grep -q '\"split\": \"test\".*\"accuracy\": 1.000000' '${_run}/metrics.jsonl' && sh '${_parity}/check_falling.sh' '${_run}/metrics.jsonl' 0.5")
  foreach(_b IN LISTS _backends)
    if(NOT _b STREQUAL "cpu")
      add_test(NAME train_roberta_tiny_${_b} COMMAND ${CMAKE_COMMAND} -E env ${_env}
        ${_porta} train --model ${_roberta} --data ${_train_data}/synthetic.jsonl --out ${CMAKE_BINARY_DIR}/train_roberta_${_b}
        --max-steps 10 --batch-size 16 --lr 5e-3 --backend ${_b} --log-every 5)
      set_tests_properties(train_roberta_tiny_${_b} PROPERTIES TIMEOUT 300
        PASS_REGULAR_EXPRESSION "device: ${_b} .*model: .*\\(roberta, 2 layers.*test \\(best checkpoint\\).*accuracy")
    endif()
  endforeach()
endif()
