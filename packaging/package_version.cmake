# CPack runs this at packaging time: the package takes the version the build wrote.
if(NOT EXISTS "${CPACK_DAGMINER_VERSION_HEADER}")
  message(FATAL_ERROR "${CPACK_DAGMINER_VERSION_HEADER} is missing: build dagminer first (cmake --build build --target dagminer)")
endif()
file(STRINGS "${CPACK_DAGMINER_VERSION_HEADER}" line REGEX "^#define DAGMINER_PACKAGE_VERSION ")
string(REGEX REPLACE "^#define DAGMINER_PACKAGE_VERSION \"(.*)\"$" "\\1" CPACK_PACKAGE_VERSION "${line}")
set(CPACK_DEBIAN_PACKAGE_VERSION "${CPACK_PACKAGE_VERSION}")
