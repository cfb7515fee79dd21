# Reads the two Bazel declarations the CMake build must not restate: the ISA table
# (core/isa.bzl, SIMDNN_ISA_COPTS) and the kernel families compiled once per ISA
# (core/BUILD, _KERNEL_FAMILIES). Both are plain Starlark literals; anything else there (a
# computed value, a load()) is a configure error rather than a silent mismatch.

# simdnn_read_isa_copts(<isa.bzl> <out-isa-list-var>): sets <out-isa-list-var> to the ISA
# names in file order and SIMDNN_ISA_COPTS_<isa> to each ISA's flags, in the caller's scope.
function(simdnn_read_isa_copts file out_isas)
  file(READ "${file}" text)
  string(FIND "${text}" "SIMDNN_ISA_COPTS = {" start)
  if(start EQUAL -1)
    message(FATAL_ERROR "${file}: no 'SIMDNN_ISA_COPTS = {' found")
  endif()
  string(SUBSTRING "${text}" ${start} -1 text)
  string(FIND "${text}" "{" open)
  string(FIND "${text}" "}" close)
  if(close EQUAL -1)
    message(FATAL_ERROR "${file}: SIMDNN_ISA_COPTS has no closing '}'")
  endif()
  math(EXPR begin "${open} + 1")
  math(EXPR length "${close} - ${begin}")
  string(SUBSTRING "${text}" ${begin} ${length} body)
  string(REGEX REPLACE "#[^\n]*" "" body "${body}")  # comments

  set(entry_regex "\"([A-Za-z0-9_]+)\"[ \t\r\n]*:[ \t\r\n]*\\[([^]]*)\\]")
  string(REGEX MATCHALL "${entry_regex}" entries "${body}")
  # Whatever is not an entry must be separators only: catches values CMake cannot read.
  string(REGEX REPLACE "${entry_regex}" "" rest "${body}")
  string(REGEX REPLACE "[ \t\r\n,]" "" rest "${rest}")
  if(NOT rest STREQUAL "" OR entries STREQUAL "")
    message(FATAL_ERROR "${file}: SIMDNN_ISA_COPTS must be a literal dict of "
                        "\"isa\": [\"flag\", ...] entries; could not read: '${rest}'")
  endif()

  set(isas "")
  foreach(entry IN LISTS entries)
    string(REGEX MATCH "${entry_regex}" _ "${entry}")
    set(isa "${CMAKE_MATCH_1}")
    set(flag_text "${CMAKE_MATCH_2}")
    string(REGEX MATCHALL "\"[^\"]*\"" quoted "${flag_text}")
    string(REGEX REPLACE "\"[^\"]*\"" "" leftover "${flag_text}")
    string(REGEX REPLACE "[ \t\r\n,]" "" leftover "${leftover}")
    if(NOT leftover STREQUAL "")
      message(FATAL_ERROR "${file}: flags of '${isa}' are not a list of string literals")
    endif()
    set(flags "")
    foreach(q IN LISTS quoted)
      string(REGEX REPLACE "^\"(.*)\"$" "\\1" q "${q}")
      list(APPEND flags "${q}")
    endforeach()
    list(APPEND isas "${isa}")
    set(SIMDNN_ISA_COPTS_${isa} "${flags}" PARENT_SCOPE)
  endforeach()
  set(${out_isas} "${isas}" PARENT_SCOPE)
endfunction()

# simdnn_read_string_list(<BUILD file> <NAME> <out-var>): the literal list `NAME = ["a", ...]`.
function(simdnn_read_string_list file name out)
  file(READ "${file}" text)
  string(REGEX MATCH "\n${name} = \\[([^]]*)\\]" _ "${text}")
  if(NOT CMAKE_MATCH_1)
    message(FATAL_ERROR "${file}: no literal list '${name} = [...]' found")
  endif()
  set(list_text "${CMAKE_MATCH_1}")
  string(REGEX REPLACE "#[^\n]*" "" list_text "${list_text}")
  string(REGEX MATCHALL "\"[^\"]*\"" quoted "${list_text}")
  set(values "")
  foreach(q IN LISTS quoted)
    string(REGEX REPLACE "^\"(.*)\"$" "\\1" q "${q}")
    list(APPEND values "${q}")
  endforeach()
  set(${out} "${values}" PARENT_SCOPE)
endfunction()
