# Run at every build (the dagminer_build_version target): writes OUTPUT with the version from
# `git describe` and the commit, rewriting it only when they changed, so a new commit
# recompiles one file. Outside a git checkout the project version stands, commit "unknown".
#   cmake -DSOURCE_DIR=... -DOUTPUT=... -DPROJECT_VERSION=... -DBUILD_TYPE=... -P write_build_version.cmake
execute_process(COMMAND git -C "${SOURCE_DIR}" describe --tags --match "v[0-9]*" --always --dirty --abbrev=10
                OUTPUT_VARIABLE described OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE described_status ERROR_QUIET)
execute_process(COMMAND git -C "${SOURCE_DIR}" rev-parse HEAD
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE commit_status ERROR_QUIET)
if(NOT described_status EQUAL 0 OR NOT commit_status EQUAL 0)
  set(version "${PROJECT_VERSION}")
  set(commit "unknown")
elseif(described MATCHES "^v([0-9].*)$")
  set(version "${CMAKE_MATCH_1}")  # v0.2.0, or v0.2.0-5-g0123456789 past the tag
else()
  set(version "${PROJECT_VERSION}+g${described}")  # no release tag yet: the commit says which
endif()
# A Debian version has no "-" in its upstream part.
string(REPLACE "-" "+" package_version "${version}")
set(content "// Written by cmake/write_build_version.cmake at build time.
#pragma once
#define DAGMINER_VERSION \"${version}\"
#define DAGMINER_PACKAGE_VERSION \"${package_version}\"
#define DAGMINER_COMMIT \"${commit}\"
#define DAGMINER_BUILD_TYPE \"${BUILD_TYPE}\"
")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
endif()
if(NOT old STREQUAL content)
  file(WRITE "${OUTPUT}" "${content}")
endif()
