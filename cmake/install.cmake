# Install rules (included by the top-level CMakeLists.txt when BG_INSTALL is on):
#
#   cmake --install build/release --prefix /opt/bayesgrad
#
# gives a relocatable prefix: the headers (bg/...), the libraries, the CMake package
# (lib/cmake/bayesgrad: bayesgradConfig.cmake, its version file and the exported targets
# bayesgrad::core, ::nn, ::bayes, ::cuda, ::dist), a pkg-config file and the licence. Nothing in it
# names the directory it was installed to, so the prefix can be moved or packaged.

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The libraries this build has, and the source folder of each one's public headers.
set(_bg_components core nn bayes)
if(BG_WITH_CUDA)
  list(APPEND _bg_components cuda)
endif()
if(BG_DIST_ENABLED)
  list(APPEND _bg_components dist)
endif()
list(TRANSFORM _bg_components PREPEND bayesgrad_ OUTPUT_VARIABLE _bg_targets)

# The CUDA backend's registration object (cuda/src/registration.cpp) goes with the libraries.
set(_bg_objects)
if(BG_WITH_CUDA)
  set(_bg_objects bayesgrad_cuda_registration)
endif()
install(TARGETS ${_bg_targets} ${_bg_objects} EXPORT bayesgradTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        OBJECTS DESTINATION ${CMAKE_INSTALL_LIBDIR}/bayesgrad
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
foreach(target IN LISTS _bg_targets)
  get_target_property(source_dir ${target} SOURCE_DIR)
  install(DIRECTORY ${source_dir}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()
install(FILES ${PROJECT_BINARY_DIR}/include/bg/version.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/bg)

# The CMake package.
set(_bg_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/bayesgrad)
install(EXPORT bayesgradTargets NAMESPACE bayesgrad:: DESTINATION ${_bg_cmake_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/bayesgradConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/bayesgradConfig.cmake
                              INSTALL_DESTINATION ${_bg_cmake_dir})
# 0.x versions follow the same rule: a request for 0.1 accepts any 0.y.z from 0.1 on.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/bayesgradConfigVersion.cmake
                                 COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/bayesgradConfig.cmake
              ${PROJECT_BINARY_DIR}/bayesgradConfigVersion.cmake
        DESTINATION ${_bg_cmake_dir})

# The pkg-config file, for core, nn and bayes. Its prefix is found from where the file lies
# (${pcfiledir}), so it moves with the prefix.
set(BG_PC_PREFIX "\${pcfiledir}")
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(BG_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  string(REPLACE "/" ";" _bg_pc_steps "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
  foreach(step IN LISTS _bg_pc_steps)
    string(APPEND BG_PC_PREFIX "/..")
  endforeach()
endif()
set(BG_PC_LIBS "-lbayesgrad_bayes -lbayesgrad_nn -lbayesgrad_core")
if(BG_WITH_CUDA)
  # The registration object first (where install(TARGETS ... OBJECTS) puts it), then the backend;
  # core again after it for a static link, which resolves the two libraries' references to each
  # other in order; cudart for a static link.
  set(_bg_objects_dir "objects")
  if(CMAKE_BUILD_TYPE)
    set(_bg_objects_dir "objects-${CMAKE_BUILD_TYPE}")
  endif()
  set(BG_PC_LIBS "\${libdir}/bayesgrad/${_bg_objects_dir}/bayesgrad_cuda_registration/src/registration.cpp.o ${BG_PC_LIBS} -lbayesgrad_cuda -lbayesgrad_core")
  set(BG_PC_LIBS_PRIVATE "-L${CUDAToolkit_LIBRARY_DIR} -lcudart")
  if(CMAKE_DL_LIBS)
    string(APPEND BG_PC_LIBS_PRIVATE " -l${CMAKE_DL_LIBS}")
  endif()
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/bayesgrad.pc.in ${PROJECT_BINARY_DIR}/bayesgrad.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/bayesgrad.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(FILES ${PROJECT_SOURCE_DIR}/LICENSE ${PROJECT_SOURCE_DIR}/CHANGELOG.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
