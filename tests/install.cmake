# Another project finds an installed porta with find_package(porta) and with pkg-config. (Not in
# sanitizer builds: the consumer is built without the sanitizer runtime.)
if(NOT PORTA_SANITIZE)
  add_test(NAME install_consumer
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/consumer/check_install.sh ${CMAKE_BINARY_DIR})
  set_tests_properties(install_consumer PROPERTIES TIMEOUT 300)
endif()
