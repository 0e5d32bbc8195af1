# Run by CPack while it stages the .deb (CPACK_INSTALL_SCRIPTS): the files
# only a Debian package carries, Debian's changelog (gzip -9n, as dh does)
# and the lintian overrides.
set(doc "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/share/doc/netlab")
file(MAKE_DIRECTORY "${doc}")
execute_process(COMMAND gzip -9nc "${NETLAB_DEB_DOC}/changelog.Debian"
                OUTPUT_FILE "${doc}/changelog.Debian.gz" COMMAND_ERROR_IS_FATAL ANY)
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/share/lintian/overrides" TYPE FILE
     FILES "${NETLAB_LINTIAN_OVERRIDES}" RENAME netlab)
