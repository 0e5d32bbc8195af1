# The .deb: CPack's DEB generator, run by scripts/deb.sh (docs/packaging.md).
# Version from project(VERSION); dependencies computed by dpkg-shlibdeps;
# maintainer scripts in packaging/deb/ (the unit enabled, not started before
# a topology exists; purge removes /etc/netlab and the state).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME netlab)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# With CPACK_SET_DESTDIR the install scripts see the configured prefix and
# DESTDIR=staging, so the unit's ExecStart= says /usr/sbin/netlabd, not the
# staging directory; scripts/deb.sh configures CMAKE_INSTALL_PREFIX=/usr.
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(NETLAB_DEB_MAINTAINER "netlab maintainers <maintainers@users.noreply.r-seed-5855bc96.example>"
    CACHE STRING "Maintainer: field of the .deb")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${NETLAB_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/netlab/netlab")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "declarative host network reconciler (bridges, macvlan, containers)")
# CPack writes the summary as the synopsis and this, each line indented, as
# the extended description.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "netlab keeps a Linux host's network equal to one YAML file: bridges that
take over a NIC, docker-style macvlan networks with host access, and
pipework-style container interfaces. netlabd applies every change over
netlink as one transaction that completes or is rolled back, repairs
drift, re-attaches restarted containers and can apply a change
commit-confirmed. netlabctl checks, plans and applies topologies and
talks to netlabd.")
set(NETLAB_DEB_CONTROL ${CMAKE_BINARY_DIR}/deb-control)
file(MAKE_DIRECTORY ${NETLAB_DEB_CONTROL})
foreach(f postinst prerm postrm conffiles)
  if(f STREQUAL conffiles)
    set(mode OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  else()
    set(mode OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  endif()
  file(COPY ${CMAKE_SOURCE_DIR}/packaging/deb/${f} DESTINATION ${NETLAB_DEB_CONTROL} FILE_PERMISSIONS ${mode})
  list(APPEND CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${NETLAB_DEB_CONTROL}/${f})
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# Only in the package: Debian's changelog and the lintian overrides.
# The changelog's date: the last commit's, so a rebuild of one tree is the same package.
execute_process(COMMAND git -C ${CMAKE_SOURCE_DIR} log -1 --format=%aD OUTPUT_VARIABLE NETLAB_DEB_DATE
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT NETLAB_DEB_DATE)
  string(TIMESTAMP NETLAB_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
endif()
configure_file(${CMAKE_SOURCE_DIR}/packaging/changelog.in ${CMAKE_BINARY_DIR}/deb-doc/changelog @ONLY)
set(CPACK_INSTALL_SCRIPTS ${CMAKE_SOURCE_DIR}/packaging/cpack_extra.cmake)
set(NETLAB_DEB_DOC ${CMAKE_BINARY_DIR}/deb-doc)
set(NETLAB_LINTIAN_OVERRIDES ${CMAKE_SOURCE_DIR}/packaging/lintian-overrides)
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_BINARY_DIR}/deb-doc/cpack_vars.cmake)
file(WRITE ${CPACK_PROJECT_CONFIG_FILE}
     "set(NETLAB_DEB_DOC \"${NETLAB_DEB_DOC}\")\nset(NETLAB_LINTIAN_OVERRIDES \"${NETLAB_LINTIAN_OVERRIDES}\")\n")
include(CPack)
