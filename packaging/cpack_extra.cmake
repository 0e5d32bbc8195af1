# Run by CPack while it stages the .deb (CPACK_INSTALL_SCRIPTS): the files
# only a Debian package carries. The changelog (gzip -9n, as dh does) is
# changelog.gz: netlab is a native package, its version has no Debian
# revision. And the lintian overrides.
set(doc "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/share/doc/netlab")
file(MAKE_DIRECTORY "${doc}")
execute_process(COMMAND gzip -9nc "${NETLAB_DEB_DOC}/changelog"
                OUTPUT_FILE "${doc}/changelog.gz" COMMAND_ERROR_IS_FATAL ANY)
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/share/lintian/overrides" TYPE FILE
     FILES "${NETLAB_LINTIAN_OVERRIDES}" RENAME netlab)
