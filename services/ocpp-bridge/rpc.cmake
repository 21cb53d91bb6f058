# bridge-rpc: the OCPP-J 1.6 RPC engine of the ocpp-bridge (framing, our CALL queue, validation
# of incoming CALLs), pure logic over text frames.
add_library(bridge-rpc STATIC rpc.c)
target_include_directories(bridge-rpc PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(bridge-rpc PUBLIC bridge-schema sitegate-common)

sg_unit_test(test_rpc tests/test_rpc.c LIBS bridge-rpc)

# libFuzzer target, clang only; built from the sources so that the engine is instrumented.
if(CMAKE_C_COMPILER_ID MATCHES "Clang")
  add_executable(fuzz_rpc tests/fuzz_rpc.c rpc.c ocpp_schema.c ocpp_validate.c
                 ${PROJECT_SOURCE_DIR}/common/src/log.c)
  target_include_directories(fuzz_rpc PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}
                             ${PROJECT_SOURCE_DIR}/common/include)
  target_compile_options(fuzz_rpc PRIVATE -fsanitize=fuzzer,address)
  target_link_options(fuzz_rpc PRIVATE -fsanitize=fuzzer,address)
  target_link_libraries(fuzz_rpc PRIVATE PkgConfig::JANSSON m)
endif()
