# mvrl_add_plugin(<name> SOURCES <src>... [NO_TORCH] [GLUE_ONLY] [NO_INSTALL]
#                 [OUTPUT_DIRECTORY <dir>] [INSTALL_DESTINATION <dir>])
#
# Builds <name>.so, a plugin library the host loads with Boost.DLL. Only the symbol
# mvrl_plugin_entry is exported. Links libtorch unless NO_TORCH is given (plain C plugins).
# Inside the mvrl tree it reuses the shared torch precompiled header.
#
# GLUE_ONLY compiles the plugin at -O0: for a plugin whose work all runs inside libtorch's calls
# and whose own code is parameters, ABI wrappers and a handful of tensor operations (no loop over
# elements). Optimising that glue is most of such a plugin's compile: raw.cpp took 20.4 s user at
# -O2 and 9.4 s at -O0 with the shared header. Inside the tree it reuses the -O0 header.
function(mvrl_add_plugin name)
  cmake_parse_arguments(ARG "NO_TORCH;GLUE_ONLY;NO_INSTALL" "OUTPUT_DIRECTORY;INSTALL_DESTINATION" "SOURCES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "mvrl_add_plugin(${name}): no SOURCES given")
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
  target_link_libraries(${name} PRIVATE mvrl::sdk)
  if(NOT ARG_NO_TORCH)
    if(NOT TARGET torch)
      find_package(Torch REQUIRED)
    endif()
    target_link_libraries(${name} PRIVATE torch)
    if(ARG_GLUE_ONLY)
      target_compile_options(${name} PRIVATE -O0)
      if(MVRL_TORCH_PCH_O0_TARGET)
        target_precompile_headers(${name} REUSE_FROM ${MVRL_TORCH_PCH_O0_TARGET})
      endif()
    elseif(MVRL_TORCH_PCH_TARGET)
      target_precompile_headers(${name} REUSE_FROM ${MVRL_TORCH_PCH_TARGET})
    endif()
  endif()
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${ARG_OUTPUT_DIRECTORY}")
  elseif(MVRL_PLUGIN_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${MVRL_PLUGIN_OUTPUT_DIR}")
  endif()
  if(ARG_NO_INSTALL)
    # test fixtures and the like
  elseif(ARG_INSTALL_DESTINATION)
    install(TARGETS ${name} LIBRARY DESTINATION "${ARG_INSTALL_DESTINATION}")
  elseif(MVRL_PLUGIN_INSTALL_DIR)
    install(TARGETS ${name} LIBRARY DESTINATION "${MVRL_PLUGIN_INSTALL_DIR}")
  endif()
endfunction()
