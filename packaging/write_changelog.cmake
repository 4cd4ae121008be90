# At install time (packaging/CMakeLists.txt): the Debian changelog of this build, gzipped
# without a timestamp as Debian wants it. Takes VERSION_HEADER, DOC_DIR and MAINTAINER.
file(STRINGS "${VERSION_HEADER}" lines REGEX "^#define DAGMINER_(PACKAGE_VERSION|COMMIT) ")
foreach(line IN LISTS lines)
  if(line MATCHES "^#define DAGMINER_([A-Z_]+) \"(.*)\"$")
    set(${CMAKE_MATCH_1} "${CMAKE_MATCH_2}")
  endif()
endforeach()
string(TIMESTAMP date "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(doc "$ENV{DESTDIR}${DOC_DIR}")
file(MAKE_DIRECTORY "${doc}")
file(WRITE "${doc}/changelog" "dagminer (${PACKAGE_VERSION}) unstable; urgency=medium

  * Built from commit ${COMMIT}.

 -- ${MAINTAINER}  ${date}
")
execute_process(COMMAND gzip -9nf "${doc}/changelog" COMMAND_ERROR_IS_FATAL ANY)
