# bridge-txqueue: the persistent queue of transaction messages (txqueue.c), pure storage logic
# over SQLite (sitegate/store.h).
add_library(bridge-txqueue STATIC txqueue.c)
target_include_directories(bridge-txqueue PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(bridge-txqueue PUBLIC sitegate-common)

# Real SQLite files in a temporary directory, including a kill -9 durability check.
sg_unit_test(test_txqueue tests/test_txqueue.c LIBS bridge-txqueue)
