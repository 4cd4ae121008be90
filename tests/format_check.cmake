# The format_check test: every tracked C++/CUDA source must be exactly as clang-format (with the
# top-level .clang-format) leaves it. Run as: cmake -DCLANG_FORMAT=<path or empty>
# -DSOURCE_DIR=<repository root> -P format_check.cmake. Prints a skip message where
# clang-format is missing; CTest reports that as skipped.
if(NOT CLANG_FORMAT)
  message("format_check skipped: clang-format not found (scripts/setup installs it)")
  return()
endif()

set(patterns *.cpp *.hpp *.h *.cc *.cu *.cuh)
find_program(GIT git)
if(GIT AND EXISTS ${SOURCE_DIR}/.git)
  execute_process(COMMAND ${GIT} ls-files -- ${patterns} WORKING_DIRECTORY ${SOURCE_DIR}
                  OUTPUT_VARIABLE listed RESULT_VARIABLE git_failed OUTPUT_STRIP_TRAILING_WHITESPACE)
endif()
if(GIT AND EXISTS ${SOURCE_DIR}/.git AND NOT git_failed)
  string(REPLACE "\n" ";" files "${listed}")
else()  # a source tarball: the source folders, never a build tree inside the checkout
  set(files)
  foreach(folder bench core daemon gpu stratum tests)
    foreach(pattern ${patterns})
      file(GLOB_RECURSE found RELATIVE ${SOURCE_DIR} ${SOURCE_DIR}/${folder}/${pattern})
      list(APPEND files ${found})
    endforeach()
  endforeach()
endif()
list(LENGTH files count)
if(count EQUAL 0)
  message(FATAL_ERROR "format_check: no sources found under ${SOURCE_DIR}")
endif()

execute_process(COMMAND ${CLANG_FORMAT} --style=file --dry-run -Werror ${files}
                WORKING_DIRECTORY ${SOURCE_DIR} RESULT_VARIABLE unformatted)
if(unformatted)
  message(FATAL_ERROR "format_check: the files named above are not formatted; run clang-format -i on them")
endif()
message("format_check: ${count} files formatted")
