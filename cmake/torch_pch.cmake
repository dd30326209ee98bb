# One precompiled <torch/torch.h> for the whole tree: a torch translation unit costs ~25 s and
# ~1.2 GB without it. REUSE_FROM needs identical flags, so PIC and visibility are global, and
# executables compile their objects with -fPIC too (GCC refuses a PIC header for -fPIE code).
add_library(mvrl_torch_pch STATIC ${CMAKE_CURRENT_LIST_DIR}/torch_pch.cpp)
target_link_libraries(mvrl_torch_pch PUBLIC mvrl::sdk torch)
target_precompile_headers(mvrl_torch_pch PRIVATE <torch/torch.h>)
set(MVRL_TORCH_PCH_TARGET mvrl_torch_pch)

function(mvrl_use_torch_pch target)
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "EXECUTABLE")
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
    target_compile_options(${target} PRIVATE -fPIC)
  endif()
  target_precompile_headers(${target} REUSE_FROM mvrl_torch_pch)
endfunction()
