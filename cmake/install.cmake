# Install rules, the CMake package, attune.pc and CPack's .deb (included by CMakeLists.txt).
#
#   bin/attune
#   lib*/libattune.so.0.1 (+ .so links)       the library, SONAME libattune.so.0.1
#   lib*/attune/libattune_spm.so              the sentencepiece module, found beside libattune.so
#   include/attune/{core,data,models,tasks}/  the headers, by their source-tree names
#   lib*/cmake/attune/                        find_package(attune) -> attune::attune
#   lib*/pkgconfig/attune.pc                  pkg-config --cflags --libs attune
include(CMakePackageConfigHelpers)

set(ATTUNE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/attune)

install(TARGETS attune RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS attune_lib EXPORT attuneTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/attune)
# A private module, not a library to link: in its own folder, where
# data/text/spm_library.cpp looks for it relative to libattune.so.
install(TARGETS attune_spm LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/attune)
install(DIRECTORY core data models tasks DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/attune
        FILES_MATCHING PATTERN "*.h" PATTERN "spm_shim" EXCLUDE)

install(EXPORT attuneTargets NAMESPACE attune:: DESTINATION ${ATTUNE_CMAKE_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/attuneConfig.cmake.in
                              ${CMAKE_BINARY_DIR}/attuneConfig.cmake INSTALL_DESTINATION ${ATTUNE_CMAKE_DIR})
# 0.x: a new minor version may change the API, so only the same major.minor is compatible.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/attuneConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/attuneConfig.cmake ${CMAKE_BINARY_DIR}/attuneConfigVersion.cmake
        DESTINATION ${ATTUNE_CMAKE_DIR})

# attune.pc. LibTorch ships no .pc file, so its flags are written in from what
# find_package(Torch) found: include folders, compile definitions and libraries.
# nlohmann/json has its own .pc (Requires). The prefix is relative to the .pc file's
# folder, so an install to any --prefix works.
file(RELATIVE_PATH ATTUNE_PC_TO_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
set(ATTUNE_PC_CFLAGS "")
foreach(dir ${TORCH_INCLUDE_DIRS})
  if(NOT dir STREQUAL "/usr/include")
    string(APPEND ATTUNE_PC_CFLAGS " -I${dir}")
  endif()
endforeach()
set(ATTUNE_PC_DEFINES "")
foreach(t torch torch_cpu c10)
  if(TARGET ${t})
    get_target_property(defs ${t} INTERFACE_COMPILE_DEFINITIONS)
    if(defs)
      list(APPEND ATTUNE_PC_DEFINES ${defs})
    endif()
  endif()
endforeach()
list(REMOVE_DUPLICATES ATTUNE_PC_DEFINES)
foreach(d ${ATTUNE_PC_DEFINES})
  if(NOT d MATCHES "\\$<")
    string(APPEND ATTUNE_PC_CFLAGS " -D${d}")
  endif()
endforeach()
string(APPEND ATTUNE_PC_CFLAGS " ${TORCH_CXX_FLAGS}")
get_filename_component(ATTUNE_TORCH_LIBDIR "${TORCH_LIBRARY}" DIRECTORY)
set(ATTUNE_PC_LIBS "")
if(NOT ATTUNE_TORCH_LIBDIR MATCHES "^/usr/lib(/|$)")
  string(APPEND ATTUNE_PC_LIBS " -L${ATTUNE_TORCH_LIBDIR} -Wl,-rpath,${ATTUNE_TORCH_LIBDIR}")
endif()
foreach(lib torch torch_cpu torch_cuda c10_cuda c10)
  if(EXISTS "${ATTUNE_TORCH_LIBDIR}/lib${lib}.so")
    string(APPEND ATTUNE_PC_LIBS " -l${lib}")
  endif()
endforeach()
configure_file(${CMAKE_SOURCE_DIR}/cmake/attune.pc.in ${CMAKE_BINARY_DIR}/attune.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/attune.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# CPack: one .deb, `attune`, with the CLI, the library and the headers
# (tools/package/deb_check.sh, docs/packaging.md). One package rather than attune +
# libattune-dev: the headers are a few hundred kB beside a 1 GB LibTorch, and one
# `apt-get install ./attune_*.deb` gives both the CLI and a library to build against.
# Depends names what the binaries load; what only the headers need (libtorch-dev and
# nlohmann/json) is Recommends, so `--no-install-recommends` gives the CLI alone.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME attune)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "attune maintainers <attune@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "attention models: train, fine-tune (PEFT), evaluate and serve, in C++ on LibTorch")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # attune_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libtorch1.13, libopenblas0-openmp | libopenblas0, libgloo0, libsentencepiece0, libicu72, libpng16-16, libssl3, libcpp-httplib0.11, libstdc++6, libc6")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libtorch-dev, nlohmann-json3-dev")
include(CPack)
