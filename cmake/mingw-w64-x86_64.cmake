# CMake toolchain file: 64-bit Windows with MinGW-w64 (GCC, posix thread model), tests run under
# Wine (docs/windows.md).
#
#   eval "$(bash scripts/mingw-deps.sh)"     # sets SONDE_WINDOWS_DEPS_PREFIX
#   cmake -S . -B build-win --toolchain cmake/mingw-w64-x86_64.cmake
#
# SONDE_WINDOWS_DEPS_PREFIX (CMake variable or environment) is the prefix that
# scripts/mingw-deps.sh built: static zstd, mbedTLS and protobuf-lite for the target, and
# host/include, a narrow include folder whose entries are links to the header-only Boost,
# Catch2 and nlohmann-json of the Linux packages (never /usr/include itself), with CMake
# package files for Catch2 and nlohmann_json. scripts/mingw-deps.sh itself configures the
# dependencies with this file.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(SONDE_MINGW_TRIPLE x86_64-w64-mingw32)

# The -posix compilers: std::thread, std::mutex and thread_local come from winpthreads. (The
# -win32 ones have no std::thread in GCC 12.)
set(CMAKE_C_COMPILER ${SONDE_MINGW_TRIPLE}-gcc-posix)
set(CMAKE_CXX_COMPILER ${SONDE_MINGW_TRIPLE}-g++-posix)
set(CMAKE_RC_COMPILER ${SONDE_MINGW_TRIPLE}-windres)

if(NOT SONDE_WINDOWS_DEPS_PREFIX AND DEFINED ENV{SONDE_WINDOWS_DEPS_PREFIX})
  set(SONDE_WINDOWS_DEPS_PREFIX "$ENV{SONDE_WINDOWS_DEPS_PREFIX}")
endif()
# try_compile() projects read this file again: pass the prefix on to them.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES SONDE_WINDOWS_DEPS_PREFIX)

# Libraries, headers and packages come from the MinGW sysroot and the dependency prefix only;
# programs (protoc, python3) from the build machine.
set(CMAKE_FIND_ROOT_PATH /usr/${SONDE_MINGW_TRIPLE})
if(NOT SONDE_WINDOWS_DEPS_PREFIX)
  message(FATAL_ERROR "SONDE_WINDOWS_DEPS_PREFIX is not set: run eval \"$(bash scripts/mingw-deps.sh)\" first (docs/windows.md)")
endif()
list(APPEND CMAKE_FIND_ROOT_PATH "${SONDE_WINDOWS_DEPS_PREFIX}" "${SONDE_WINDOWS_DEPS_PREFIX}/host")
# As /usr/include is on Linux, the dependencies' headers are system headers of every target:
# the prefix's include (zstd, mbedTLS, protobuf) and the narrow host/include.
foreach(lang C CXX)
  set(CMAKE_${lang}_STANDARD_INCLUDE_DIRECTORIES
      "${SONDE_WINDOWS_DEPS_PREFIX}/include" "${SONDE_WINDOWS_DEPS_PREFIX}/host/include")
endforeach()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# FindBoost: the headers of host/include, not Debian's BoostConfig.cmake (it names /usr/include).
set(Boost_NO_BOOST_CMAKE ON)

# No MinGW runtime DLL to ship beside ours: libgcc, libstdc++ and winpthread are linked
# statically into every .exe and .dll, which then import only Windows' own DLLs.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-static")

# ctest and add_custom_command run the .exe files through Wine, headless, in a private prefix.
get_filename_component(_sonde_toolchain_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(CMAKE_CROSSCOMPILING_EMULATOR "${_sonde_toolchain_root}/scripts/wine-run.sh")
