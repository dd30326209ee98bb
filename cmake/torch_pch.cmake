# One precompiled <torch/torch.h> for the whole tree: a torch translation unit costs ~25 s and
# ~1.2 GB without it. REUSE_FROM needs identical flags, so PIC and visibility are global, and
# executables compile their objects with -fPIC too (GCC refuses a PIC header for -fPIE code).
add_library(mvrl_torch_pch STATIC ${CMAKE_CURRENT_LIST_DIR}/torch_pch.cpp)
target_link_libraries(mvrl_torch_pch PUBLIC mvrl::sdk torch)
target_precompile_headers(mvrl_torch_pch PRIVATE <torch/torch.h>)
set(MVRL_TORCH_PCH_TARGET mvrl_torch_pch)

# Test programs and GLUE_ONLY plugins compile at -O0, against a second header precompiled at -O0 (GCC refuses a PCH made
# with other -O options): their own code is a few checks around plugin calls, which run optimised
# in the plugins and libtorch, and optimising the test sources took about a quarter of a clean build.
add_library(mvrl_torch_pch_O0 STATIC ${CMAKE_CURRENT_LIST_DIR}/torch_pch.cpp)
target_link_libraries(mvrl_torch_pch_O0 PUBLIC mvrl::sdk torch)
target_compile_options(mvrl_torch_pch_O0 PRIVATE -O0)
target_precompile_headers(mvrl_torch_pch_O0 PRIVATE <torch/torch.h>)
set(MVRL_TORCH_PCH_O0_TARGET mvrl_torch_pch_O0)  # also for GLUE_ONLY plugins (MvrlAddPlugin.cmake)

function(_mvrl_reuse_pch target pch)
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "EXECUTABLE")
    set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
    target_compile_options(${target} PRIVATE -fPIC)
  endif()
  target_precompile_headers(${target} REUSE_FROM ${pch})
endfunction()

function(mvrl_use_torch_pch target)
  _mvrl_reuse_pch(${target} mvrl_torch_pch)
endfunction()

# For test executables: -O0 and the -O0 header.
function(mvrl_use_test_pch target)
  target_compile_options(${target} PRIVATE -O0)
  _mvrl_reuse_pch(${target} mvrl_torch_pch_O0)
endfunction()
