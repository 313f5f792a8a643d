# CPack: `cpack -G DEB` in the build tree (or `cmake --build build --target package`) builds
# tidemark_<version>_<arch>.deb: the binary in /usr/bin, the unit (enabled and started on
# install), /etc/tidemark/tidemark.toml as a conffile, the broker snippet and the README.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tidemark)
set(CPACK_PACKAGE_VENDOR tidemark)
set(CPACK_PACKAGE_CONTACT "tidemark maintainers <tidemark@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "event-time window aggregates for MQTT devices, durably in SQLite")
set(CPACK_PACKAGE_DESCRIPTION
    "tidemark subscribes to MQTT device topics and computes per-device event-time window\n aggregates (tumbling, sliding, session) with watermarks, keeps its state durably in\n SQLite and serves results, lateness and state over an HTTP API and a web page.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)  # the build type keeps debug info; the package does not
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)  # Depends: from the binary's shared libraries
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "mosquitto")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/systemd/debian/conffiles
    ${PROJECT_SOURCE_DIR}/systemd/debian/postinst
    ${PROJECT_SOURCE_DIR}/systemd/debian/prerm
    ${PROJECT_SOURCE_DIR}/systemd/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
