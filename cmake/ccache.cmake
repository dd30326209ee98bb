# Use ccache when present. PCH builds need its sloppiness settings, or every hit is a miss.
find_program(MVRL_CCACHE ccache)
if(MVRL_CCACHE)
  set(_launcher "${CMAKE_COMMAND};-E;env;CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime;${MVRL_CCACHE}")
  set(CMAKE_C_COMPILER_LAUNCHER "${_launcher}")
  set(CMAKE_CXX_COMPILER_LAUNCHER "${_launcher}")
endif()
