# Translates one CUDA source of cuda/ (.cu or .cuh) into C++ that g++ compiles against the
# emulator's headers (tests/cuda_emu/include): every launch
#     NAME<<<CONFIG>>>(ARGS...)      NAME an identifier, possibly qualified, possibly with
#                                     template arguments that do not nest: k<T, A, Op>
# becomes
#     ::emu::launch(::emu::Config(CONFIG), NAME, ARGS...)
# and every shared-memory declaration
#     __shared__ T a[N], b[N][M];
# is followed (same line) by CFX_EMU_SHARED_ENTERED(a); CFX_EMU_SHARED_ENTERED(b); which
# poisons the arrays once per block (cuda_emu/device.h). Everything else is left as it is (the
# shim headers give __global__, __shared__, ... a meaning), and a #line directive keeps
# diagnostics, __FILE__ and the emulator's messages on the original file and line. A <<<
# left over is a launch this does not understand: an error.
#
#   cmake -DINPUT=cuda/nn.cu -DOUTPUT=<build>/cuda_emu_src/cuda/nn.cu.cpp -DSHOWN=cuda/nn.cu -P translate.cmake
foreach(var IN ITEMS INPUT OUTPUT SHOWN)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "translate.cmake: -D${var}=... is required")
  endif()
endforeach()

file(READ "${INPUT}" code)

set(name "([A-Za-z_][A-Za-z0-9_:]*(<[^<>;]*>)?)")   # \1 (with \2 its template arguments)
set(config "(([^>]|>[^>]|>>[^>])*)")                # \3: anything up to the first >>>
set(ws "[ \t\r\n]*")
# A launch without arguments first (no trailing comma), then the general form.
string(REGEX REPLACE "${name}${ws}<<<${config}>>>${ws}\\(${ws}\\)" "::emu::launch(::emu::Config(\\3), \\1)"
       code "${code}")
string(REGEX REPLACE "${name}${ws}<<<${config}>>>${ws}\\(" "::emu::launch(::emu::Config(\\3), \\1, " code "${code}")

# Shared-memory declarations: each starts a line (comments that mention __shared__ do not).
set(done "")
while(code MATCHES "(^|\n)[ \t]*(__shared__[^;]*);")
  set(decl "${CMAKE_MATCH_2}")                       # __shared__ A sw[16][33], sb[16][33]
  string(FIND "${code}" "${decl};" at)
  string(LENGTH "${decl};" length)
  math(EXPR after "${at} + ${length}")
  string(SUBSTRING "${code}" 0 ${after} head)
  string(SUBSTRING "${code}" ${after} -1 code)
  # The declared names: without the array bounds, split at commas, the last identifier of each.
  string(REGEX REPLACE "^__shared__|\\[[^]]*\\]" "" names "${decl}")
  string(REPLACE "," ";" names "${names}")
  set(marks "")
  foreach(part IN LISTS names)
    if(NOT part MATCHES "([A-Za-z_][A-Za-z0-9_]*)[ \t\r\n]*$")
      message(FATAL_ERROR "translate.cmake: ${SHOWN}: cannot find the names declared by: ${decl}")
    endif()
    string(APPEND marks " CFX_EMU_SHARED_ENTERED(${CMAKE_MATCH_1});")
  endforeach()
  string(APPEND done "${head}${marks}")
endwhile()
set(code "${done}${code}")

string(FIND "${code}" "<<<" left)
if(left GREATER_EQUAL 0)
  string(SUBSTRING "${code}" 0 ${left} before)
  string(REGEX MATCHALL "\n" newlines "${before}")
  list(LENGTH newlines line)
  math(EXPR line "${line} + 1")
  message(FATAL_ERROR "translate.cmake: ${SHOWN}:${line}: a kernel launch the CUDA emulator's translation does "
                      "not understand (kernel name with nested template arguments?); simplify it or extend "
                      "tests/cuda_emu/translate.cmake")
endif()

file(WRITE "${OUTPUT}" "#line 1 \"${SHOWN}\"\n${code}")
