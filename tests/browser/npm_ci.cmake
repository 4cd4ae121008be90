# cmake -DNPM=npm -DSOURCE_DIR=<tests/browser> -DDEST_DIR=<build dir> -P npm_ci.cmake
# Installs the locked npm packages into DEST_DIR/node_modules, unless the same lock file is
# installed there already (so a test run needs the registry only when the lock changes).
set(installed ${DEST_DIR}/package-lock.json)
if(EXISTS ${installed} AND EXISTS ${DEST_DIR}/node_modules/playwright-core/package.json)
  file(SHA256 ${SOURCE_DIR}/package-lock.json wanted)
  file(SHA256 ${installed} have)
  if(wanted STREQUAL have)
    message(STATUS "npm packages of ${SOURCE_DIR}/package-lock.json already in ${DEST_DIR}")
    return()
  endif()
endif()
file(COPY ${SOURCE_DIR}/package.json ${SOURCE_DIR}/package-lock.json DESTINATION ${DEST_DIR})
execute_process(COMMAND ${NPM} ci --no-audit --no-fund --ignore-scripts WORKING_DIRECTORY ${DEST_DIR} RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  file(REMOVE ${installed})  # so the next run tries again
  message(FATAL_ERROR "npm ci in ${DEST_DIR} failed (${result}): the browser test needs playwright-core from the npm registry")
endif()
