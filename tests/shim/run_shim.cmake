# Runs sonde-shim for one ctest test: fresh private directories, then checks the exit code
# (and optionally the output). Variables: SHIM, LIB, WORK_DIR, SHIM_ARGS ("|"-separated),
# EXPECT_EXIT, EXPECT_OUTPUT (regex, optional), EMULATOR (optional: sonde-shim.exe is run
# through it, scripts/wine-run.sh for the Windows build, tests/windows/CMakeLists.txt).
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
string(REPLACE "|" ";" args "${SHIM_ARGS}")
# @MONTH_EVE@: the last day of the month before the real current month (UTC), so that a replay
# starting there crosses into the month in which the segments are created, whatever the day.
if(args MATCHES "@MONTH_EVE@")
  string(TIMESTAMP year "%Y" UTC)
  string(TIMESTAMP month "%m" UTC)
  math(EXPR year "${year}")
  math(EXPR month "${month} - 1")
  if(month EQUAL 0)
    set(month 12)
    math(EXPR year "${year} - 1")
  endif()
  set(last 31)
  if(month EQUAL 4 OR month EQUAL 6 OR month EQUAL 9 OR month EQUAL 11)
    set(last 30)
  elseif(month EQUAL 2)
    math(EXPR leap "(${year} % 4 == 0 && ${year} % 100 != 0) || ${year} % 400 == 0")
    if(leap)
      set(last 29)
    else()
      set(last 28)
    endif()
  endif()
  if(month LESS 10)
    set(month "0${month}")
  endif()
  string(REPLACE "@MONTH_EVE@" "${year}-${month}-${last}" args "${args}")
endif()
execute_process(
  COMMAND ${EMULATOR} "${SHIM}" --lib "${LIB}" --config-dir "${WORK_DIR}/conf" --shm-dir "${WORK_DIR}/shm"
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
