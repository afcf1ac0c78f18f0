# Installs the already-built Conflux into a temporary prefix, then configures, builds and
# runs tests/install/outside_project against it with find_package(Conflux CONFIG REQUIRED).
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/install/outside_project -B ${WORK_DIR}/build
                        -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the outside project failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the outside project failed (${rc})")
endif()
execute_process(COMMAND ${WORK_DIR}/build/outside WORKING_DIRECTORY ${WORK_DIR} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
message(STATUS "outside project printed: ${out}")
if(rc OR NOT out MATCHES "grad \\[2, 8, 1024, 64\\]" OR NOT out MATCHES "loss [0-9]")
  message(FATAL_ERROR "the outside project failed (${rc}): ${out}")
endif()
