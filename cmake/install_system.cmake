# Installs what does not live under the prefix's own tree: the systemd unit,
# generated from systemd/netlab.service.in, and the commented topology
# template in the configuration directory. Runs at install time, not
# configure time, because `cmake --install --prefix P` may name a prefix
# other than the configured one: ExecStart= must name P's netlabd.
# Set by the caller (install(CODE)): NETLAB_SOURCE_DIR, NETLAB_WORK_DIR,
# NETLAB_SBINDIR and NETLAB_DOCDIR (relative to the prefix).
set(prefix "${CMAKE_INSTALL_PREFIX}")
set(SBINDIR "${prefix}/${NETLAB_SBINDIR}")
set(DOCDIR "${prefix}/${NETLAB_DOCDIR}")
# Debian 12 ships units in /lib/systemd/system (the usrmerge moratorium) and
# configuration in /etc; under any other prefix both stay under it
# (systemd searches /usr/local/lib/systemd/system too).
if(prefix STREQUAL "/usr")
  set(unitdir "/lib/systemd/system")
  set(confdir "/etc/netlab")
else()
  set(unitdir "${prefix}/lib/systemd/system")
  set(confdir "${prefix}/etc/netlab")
endif()
configure_file("${NETLAB_SOURCE_DIR}/systemd/netlab.service.in" "${NETLAB_WORK_DIR}/netlab.service" @ONLY)
file(INSTALL DESTINATION "${unitdir}" TYPE FILE FILES "${NETLAB_WORK_DIR}/netlab.service")
file(INSTALL DESTINATION "${confdir}" TYPE FILE
     FILES "${NETLAB_SOURCE_DIR}/packaging/topology.yaml.example")
