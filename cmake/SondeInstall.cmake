# Install helpers shared by the subdirectories (docs/packaging.md).

# Where the systemd units' ExecStart looks for the binaries: the packages' /usr/bin unless the
# installation goes elsewhere (cmake --install --prefix /opt/sonde: set it to /opt/sonde/bin).
set(SONDE_SYSTEMD_BINDIR "/usr/bin" CACHE STRING "Directory of sonde-* in the installed systemd units")
set(SONDE_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING "Where systemd units are installed (relative to the prefix)")

# sonde_install_unit(UNIT_FILE COMPONENT): installs a copy of the unit whose ExecStart names
# ${SONDE_SYSTEMD_BINDIR}/sonde-... whatever directory the source unit names.
function(sonde_install_unit unit component)
  get_filename_component(name ${unit} NAME)
  file(READ ${unit} text)
  string(REGEX REPLACE "ExecStart=[^ \n]*/(sonde-[a-z]+)" "ExecStart=${SONDE_SYSTEMD_BINDIR}/\\1"
         text "${text}")
  file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/installed/${name} "${text}")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${unit})
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/installed/${name}
          DESTINATION ${SONDE_SYSTEMD_UNITDIR} COMPONENT ${component})
endfunction()
