# bridge-schema: the OCPP 1.6J message tables (ocpp_schema.c) and the payload validator
# (ocpp_validate.c) of the ocpp-bridge.
add_library(bridge-schema STATIC ocpp_schema.c ocpp_validate.c)
target_include_directories(bridge-schema PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(bridge-schema PUBLIC PkgConfig::JANSSON PRIVATE m)

# Compares the tables with node_modules/ocpp-rpc/lib/schemas/ocpp1_6.json (run from the repository
# root, after npm ci) and checks the validator's answers.
sg_unit_test(test_ocpp_schema tests/test_ocpp_schema.c LIBS bridge-schema)

# libFuzzer target, clang only; built from the sources so that the validator is instrumented.
if(CMAKE_C_COMPILER_ID MATCHES "Clang")
  add_executable(fuzz_ocpp_validate tests/fuzz_ocpp_validate.c ocpp_schema.c ocpp_validate.c)
  target_include_directories(fuzz_ocpp_validate PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_compile_options(fuzz_ocpp_validate PRIVATE -fsanitize=fuzzer,address)
  target_link_options(fuzz_ocpp_validate PRIVATE -fsanitize=fuzzer,address)
  target_link_libraries(fuzz_ocpp_validate PRIVATE PkgConfig::JANSSON m)
endif()
