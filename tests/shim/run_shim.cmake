# Runs sonde-shim for one ctest test: fresh private directories, then checks the exit code
# (and optionally the output). Variables: SHIM, LIB, WORK_DIR, SHIM_ARGS ("|"-separated),
# EXPECT_EXIT, EXPECT_OUTPUT (regex, optional).
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
string(REPLACE "|" ";" args "${SHIM_ARGS}")
execute_process(
  COMMAND "${SHIM}" --lib "${LIB}" --config-dir "${WORK_DIR}/conf" --shm-dir "${WORK_DIR}/shm"
          --json "${WORK_DIR}/report.json" ${args}
  RESULT_VARIABLE code
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
message("${out}")
if(err)
  message("stderr:\n${err}")
endif()
if(NOT "${code}" STREQUAL "${EXPECT_EXIT}")
  message(FATAL_ERROR "sonde-shim exited with '${code}', expected ${EXPECT_EXIT}")
endif()
if(EXPECT_OUTPUT AND NOT out MATCHES "${EXPECT_OUTPUT}")
  message(FATAL_ERROR "sonde-shim output does not match '${EXPECT_OUTPUT}'")
endif()
