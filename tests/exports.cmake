# The shared library's boundary: its dynamic symbol table holds porta_* functions only, and every
# function declared in include/porta/ carries PORTA_API and is exported (tools/check_exports.sh).
if(TARGET porta)
  find_program(PORTA_NM nm)
  if(PORTA_NM)
    add_test(NAME library_exports
      COMMAND ${CMAKE_SOURCE_DIR}/tools/check_exports.sh $<TARGET_FILE:porta> ${CMAKE_SOURCE_DIR}/include/porta)
  endif()
endif()
