# What `cmake --install` and CPack put where (docs/packaging.md). Components:
#   runtime  libsonde.so.1 (Debian package libsonde1)
#   dev      headers, the libsonde.so symlink, the CMake package, sonde.pc, the integration docs
#            (libsonde-dev)
#   tools    sonde-ctl, sonde-uplink and its unit, their man pages (sonde-tools)
#   console  sonde-console, its unit and man page (sonde-console)
include(CMakePackageConfigHelpers)

# CMake package: Sonde::sonde, with a version file (same major: 1.x accepts any 1.y >= asked).
set(SONDE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/Sonde)
install(EXPORT SondeTargets NAMESPACE Sonde:: DESTINATION ${SONDE_CMAKE_DIR} COMPONENT dev)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/SondeConfig.cmake.in
  ${CMAKE_BINARY_DIR}/package/SondeConfig.cmake INSTALL_DESTINATION ${SONDE_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/package/SondeConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/package/SondeConfig.cmake
              ${CMAKE_BINARY_DIR}/package/SondeConfigVersion.cmake
        DESTINATION ${SONDE_CMAKE_DIR} COMPONENT dev)

# pkg-config: prefix found relative to the .pc file, so the same file serves any prefix.
set(SONDE_PC_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH SONDE_PC_PREFIX_FROM_PCDIR /prefix/${SONDE_PC_DIR} /prefix)
configure_file(${CMAKE_CURRENT_LIST_DIR}/sonde.pc.in ${CMAKE_BINARY_DIR}/package/sonde.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/package/sonde.pc DESTINATION ${SONDE_PC_DIR} COMPONENT dev)

# The integrator's documentation.
install(FILES README.md docs/abi.md docs/architecture.md docs/operator.md docs/packaging.md
              docs/snapshot.md docs/indicators.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT dev)

# Man pages, generated from --help at build time with help2man (Debian package help2man).
find_program(HELP2MAN help2man)
set(SONDE_MAN_PAGES "")
if(SONDE_TOOLS AND HELP2MAN)
  # name;target;component;description
  foreach(entry "sonde-ctl|sonde-ctl|tools|operator tool of the Sonde statistics plugin"
                "sonde-uplink|sonde-uplink|tools|uploads Sonde snapshots to the console"
                "sonde-console|sonde-console|console|receiving service of the Sonde console")
    string(REPLACE "|" ";" entry "${entry}")
    list(GET entry 0 name)
    list(GET entry 1 target)
    list(GET entry 2 component)
    list(GET entry 3 description)
    set(page ${CMAKE_BINARY_DIR}/man/${name}.1)
    # sonde-ctl's page also holds each command's own --help (a COMMANDS section).
    set(include_args "")
    set(include_commands "")
    if(name STREQUAL "sonde-ctl")
      set(include_file ${CMAKE_BINARY_DIR}/man/${name}.h2m)
      set(include_args --include=${include_file})
      set(include_commands COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/man-subcommands.sh
                                   $<TARGET_FILE:${target}> ${include_file})
    endif()
    add_custom_command(OUTPUT ${page}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
      ${include_commands}
      COMMAND ${HELP2MAN} --no-info --no-discard-stderr --section=1
              --name=${description} --version-string=${PROJECT_VERSION} ${include_args}
              --output=${page} $<TARGET_FILE:${target}>
      COMMAND gzip -9nf -k ${page}
      BYPRODUCTS ${page}.gz
      DEPENDS ${target} ${CMAKE_SOURCE_DIR}/scripts/man-subcommands.sh
      COMMENT "Generating the man page of ${name}")
    list(APPEND SONDE_MAN_PAGES ${page})
    install(FILES ${page}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT ${component})
  endforeach()
  add_custom_target(sonde_man_pages ALL DEPENDS ${SONDE_MAN_PAGES})
elseif(SONDE_TOOLS)
  message(WARNING "help2man not found: no man pages (scripts/deps.sh installs it); test man:pages fails")
endif()

# Debian packages (CPack DEB, one package per component): `cpack -G DEB` in the build tree.
# lintian's findings and the ones left on purpose: docs/packaging.md#lintian.
set(SONDE_DEB_PACKAGES runtime:libsonde1 dev:libsonde-dev)
if(SONDE_TOOLS)
  list(APPEND SONDE_DEB_PACKAGES tools:sonde-tools console:sonde-console)
endif()
set(CPACK_COMPONENTS_ALL "")
foreach(entry ${SONDE_DEB_PACKAGES})
  string(REPLACE ":" ";" entry ${entry})
  list(GET entry 0 component)
  list(GET entry 1 package)
  list(APPEND CPACK_COMPONENTS_ALL ${component})
  string(TOUPPER ${component} COMPONENT)
  set(CPACK_DEBIAN_${COMPONENT}_PACKAGE_NAME ${package})
  # Debian policy: every package has its copyright file and changelog (changelog.gz: the
  # packages are native, their version has no Debian revision).
  set(changelog ${CMAKE_BINARY_DIR}/package/${package}/changelog)
  file(WRITE ${changelog} "${package} (${PROJECT_VERSION}) unstable; urgency=medium\n\n"
       "  * Release ${PROJECT_VERSION} (ABI ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}); see README.md.\n\n"
       " -- Sonde maintainers <sonde@index-education.com>  Thu, 01 Jan 2026 00:00:00 +0000\n")
  execute_process(COMMAND gzip -9nf ${changelog})
  install(FILES ${changelog}.gz ${CMAKE_SOURCE_DIR}/packaging/copyright
          DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${package} COMPONENT ${component})
endforeach()
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sonde)
set(CPACK_PACKAGE_VENDOR "Index Education")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Sonde maintainers <sonde@index-education.com>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://www.index-education.com/")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION "${PROJECT_DESCRIPTION} (library)
 libsonde.so.${PROJECT_VERSION_MAJOR}: lock-free counters in shared memory per base,
 sealed snapshots written to a spool. Hosts load it through its stable C ABI.")
# The shlibs file (only libsonde1 holds a shared library) and the ldconfig trigger. CPack's
# own postinst and postrm call ldconfig too (packaging/lintian-suppressed-tags says why they
# stay).
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
file(WRITE ${CMAKE_BINARY_DIR}/package/libsonde1-control/triggers "activate-noawait ldconfig\n")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/package/libsonde1-control/triggers)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libsonde1 (= ${PROJECT_VERSION})")
set(CPACK_DEBIAN_DEV_DESCRIPTION "${PROJECT_DESCRIPTION} (development files)
 sonde.h and sonde_catalog.h, the libsonde.so link, the CMake package
 (Sonde::sonde) and sonde.pc, the integration documentation.")
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_TOOLS_DESCRIPTION "${PROJECT_DESCRIPTION} (tools)
 sonde-ctl enables bases and reads their counters; sonde-uplink uploads the
 snapshots to the console (systemd unit sonde-uplink.service).")
set(CPACK_DEBIAN_CONSOLE_PACKAGE_SECTION net)
set(CPACK_DEBIAN_CONSOLE_DESCRIPTION "Sonde console: receives the statistics snapshots
 sonde-console receives sealed snapshots over HTTPS, stores the figures in
 SQLite or PostgreSQL and serves the Console territoriale's pages (systemd
 unit sonde-console.service).")
include(CPack)
