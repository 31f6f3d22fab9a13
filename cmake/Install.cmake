# `cmake --install` puts headers under include/lamina/, the libraries, and a package config so that an outside
# project can find_package(lamina) and link lamina::lamina (and lamina::cuda when it was built).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

foreach(layer core nn distributed)
  if(TARGET lamina_${layer})
    install(DIRECTORY ${CMAKE_SOURCE_DIR}/${layer}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/lamina/${layer}
            FILES_MATCHING PATTERN "*.h" PATTERN "cuda" EXCLUDE)
  endif()
endforeach()
install(FILES ${CMAKE_SOURCE_DIR}/lamina.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/lamina)

set(LAMINA_INSTALLED_TARGETS ${LAMINA_LIBRARIES} lamina)
if(TARGET lamina_cuda)
  install(DIRECTORY ${CMAKE_SOURCE_DIR}/core/cuda/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/lamina/core/cuda
          FILES_MATCHING PATTERN "*.h")
  list(APPEND LAMINA_INSTALLED_TARGETS lamina_cuda)
  if(TARGET lamina_nccl)
    list(APPEND LAMINA_INSTALLED_TARGETS lamina_nccl)
  endif()
endif()
install(TARGETS ${LAMINA_INSTALLED_TARGETS} EXPORT laminaTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT laminaTargets NAMESPACE lamina:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lamina)

# The package config looks up only the dependencies of the targets this build exports.
set(LAMINA_EXPORTS_MPI OFF)
set(LAMINA_EXPORTS_CUDA OFF)
if(TARGET lamina_distributed)
  set(LAMINA_EXPORTS_MPI ON)
endif()
if(TARGET lamina_cuda)
  set(LAMINA_EXPORTS_CUDA ON)
endif()
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/laminaConfig.cmake.in
  ${CMAKE_BINARY_DIR}/laminaConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lamina)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/laminaConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/laminaConfig.cmake ${CMAKE_BINARY_DIR}/laminaConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/lamina)
