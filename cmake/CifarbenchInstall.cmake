# `cmake --install` and CPack (docs/install.md): the binary in bin/, the suites, recipes and
# example models in share/cifarbench/configs (where `cifarbench run` finds its default suite when
# run from anywhere), the docs in share/cifarbench/docs; `cpack -G DEB` packages exactly that, with
# the Debian runtime packages the binary links against as dependencies (dpkg-shlibdeps).
include(GNUInstallDirs)
install(TARGETS cifarbench RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/configs/ DESTINATION ${CMAKE_INSTALL_DATADIR}/cifarbench/configs)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DATADIR}/cifarbench/docs)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DATADIR}/cifarbench)
# The Python backends' worker package (docs/backends/python.md), found next to the binary as
# ../share/cifarbench/python; its tests stay in the source tree.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/python/cifarbench_worker
        DESTINATION ${CMAKE_INSTALL_DATADIR}/cifarbench/python
        PATTERN __pycache__ EXCLUDE)

set(CPACK_PACKAGE_NAME cifarbench)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "cifarbench")
set(CPACK_PACKAGE_CONTACT "cifarbench maintainers <cifarbench@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Benchmarks deep-learning frameworks on image classification (CIFAR-10), fairly and with statistics")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
# The libraries the binary links (LibTorch, dlib, OpenBLAS, SQLite, fmt, spdlog, curl, archive,
# jpeg, png, ...) become Depends through their packages' shlibs files.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Figures and the HTML report's browser check use these when present; TensorFlow is found at run
# time (pip wheel or C archive) and is not a Debian package.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "gnuplot-nox | gnuplot, libopenblas0-pthread")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "chromium, python3-torch, python3-numpy")
include(CPack)
