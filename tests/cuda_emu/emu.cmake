# CONFLUX_CUDA_EMU=ON: the CUDA backend of cuda/ built with the host compiler against the CPU
# emulator of the CUDA runtime and cuBLAS in tests/cuda_emu (see its README), so that the
# tests/cuda suite runs the backend's kernels without a GPU. A test build only.
#
# Included by the top-level CMakeLists.txt; gives CONFLUX_CUDA_EMU_SOURCES (the library's
# sources for cuda/) and conflux_cuda_emu_setup(target) (include paths and definitions).
set(conflux_emu_dir ${CMAKE_CURRENT_LIST_DIR})
set(conflux_emu_gen ${PROJECT_BINARY_DIR}/cuda_emu_src)

# cuda/*.cu -> <build>/cuda_emu_src/cuda/*.cu.cpp and cuda/*.cuh -> <build>/cuda_emu_src/cuda/*.cuh,
# launches rewritten (translate.cmake). The copies of the headers come first on the include
# path, so #include "cuda/flow_attention.cuh" finds the translated one.
file(GLOB conflux_emu_cuda CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/cuda/*.cu ${PROJECT_SOURCE_DIR}/cuda/*.cuh)
set(CONFLUX_CUDA_EMU_SOURCES)
foreach(src IN LISTS conflux_emu_cuda)
  get_filename_component(name ${src} NAME)
  if(name MATCHES "\\.cu$")
    set(out ${conflux_emu_gen}/cuda/${name}.cpp)
  else()
    set(out ${conflux_emu_gen}/cuda/${name})
    set_source_files_properties(${out} PROPERTIES HEADER_FILE_ONLY ON)
  endif()
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DINPUT=${src} -DOUTPUT=${out} -DSHOWN=cuda/${name} -P ${conflux_emu_dir}/translate.cmake
    DEPENDS ${src} ${conflux_emu_dir}/translate.cmake
    COMMENT "Translating cuda/${name} for the CUDA emulator"
    VERBATIM)
  list(APPEND CONFLUX_CUDA_EMU_SOURCES ${out})
  if(name MATCHES "\\.cu$")
    # Device code is full of #pragma unroll, which g++ does not know.
    set_source_files_properties(${out} PROPERTIES COMPILE_OPTIONS -Wno-unknown-pragmas)
  endif()
endforeach()

# The backend's plain C++ (context, allocator; not cuda/no_cuda/) and the emulator itself.
file(GLOB conflux_emu_cpp CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/cuda/*.cpp ${conflux_emu_dir}/src/*.cpp)
list(APPEND CONFLUX_CUDA_EMU_SOURCES ${conflux_emu_cpp})

function(conflux_cuda_emu_setup target)
  # Before the project root: <cuda_runtime.h> and <cublas_v2.h> are the emulator's, and
  # "cuda/*.cuh" the translated copies.
  target_include_directories(${target} BEFORE PRIVATE ${conflux_emu_gen} ${conflux_emu_dir}/include)
  target_compile_definitions(${target} PUBLIC CONFLUX_WITH_CUDA=1 CONFLUX_CUDA_EMULATED=1)
endfunction()
