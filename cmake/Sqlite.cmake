# SQLite >= 3.51.3 from SQLite's own amalgamation tarball (shipped inside npm sqlite3@6.0.1, fetched by
# scripts/setup.sh). The system SQLite (Debian 12: 3.40.1, affected by the WAL-reset bug) is never linked.
set(SQLITE_TARBALL "${LITESTREAM_DEPS_DIR}/sqlite-autoconf-3520000.tar.gz")
set(SQLITE_TARBALL_SHA256 f6b50b0c103392af32a8be15b2b9d25959de9a00a70c3979128aafeaa5338b3f)
if(NOT EXISTS "${SQLITE_TARBALL}")
  message(FATAL_ERROR "${SQLITE_TARBALL} is missing: run scripts/setup.sh first")
endif()
file(SHA256 "${SQLITE_TARBALL}" _sqlite_sha)
if(NOT _sqlite_sha STREQUAL SQLITE_TARBALL_SHA256)
  message(FATAL_ERROR "${SQLITE_TARBALL}: sha256 ${_sqlite_sha} != ${SQLITE_TARBALL_SHA256}")
endif()
set(SQLITE_SRC_DIR "${CMAKE_BINARY_DIR}/_deps/sqlite-autoconf-3520000")
if(NOT EXISTS "${SQLITE_SRC_DIR}/sqlite3.c")
  file(ARCHIVE_EXTRACT INPUT "${SQLITE_TARBALL}" DESTINATION "${CMAKE_BINARY_DIR}/_deps")
endif()

set(LITESTREAM_SQLITE_DEFINES
  SQLITE_THREADSAFE=1 SQLITE_DEFAULT_WAL_SYNCHRONOUS=1 SQLITE_ENABLE_FTS5 SQLITE_ENABLE_RTREE
  SQLITE_ENABLE_MATH_FUNCTIONS SQLITE_ENABLE_DBSTAT_VTAB SQLITE_ENABLE_COLUMN_METADATA SQLITE_ENABLE_DBPAGE_VTAB)

add_library(sqlite3_amalgamation STATIC "${SQLITE_SRC_DIR}/sqlite3.c")
target_include_directories(sqlite3_amalgamation SYSTEM PUBLIC "${SQLITE_SRC_DIR}")
target_compile_definitions(sqlite3_amalgamation PUBLIC ${LITESTREAM_SQLITE_DEFINES})
target_compile_options(sqlite3_amalgamation PRIVATE -w)
set_target_properties(sqlite3_amalgamation PROPERTIES POSITION_INDEPENDENT_CODE ON)
target_link_libraries(sqlite3_amalgamation PUBLIC Threads::Threads ${CMAKE_DL_LIBS} m)
add_library(SQLite::amalgamation ALIAS sqlite3_amalgamation)

# Our own sqlite3 shell, for tests and the demo (loads extensions, same SQLite as the library).
add_executable(sqlite3_shell "${SQLITE_SRC_DIR}/shell.c")
target_compile_options(sqlite3_shell PRIVATE -w)
target_link_libraries(sqlite3_shell PRIVATE sqlite3_amalgamation)
set_target_properties(sqlite3_shell PROPERTIES OUTPUT_NAME sqlite3 RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/bin")
if(LITESTREAM_SANITIZE)
  # Linked as C++ so that it carries the C++ part of the UBSan runtime, which a sanitized extension loaded
  # into it (our VFS) needs.
  set_target_properties(sqlite3_shell PROPERTIES LINKER_LANGUAGE CXX)
endif()
