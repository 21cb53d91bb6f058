# Convenience front end; CMake does the building. Every target that needs
# packages installs them first (scripts/install-deps is a no-op when present).
BUILD      ?= build
BUILD_ASAN ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all deps build test unit e2e asan asan-test demo docs format format-check cppcheck fuzz clean

all: build

deps:
	scripts/install-deps

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_ARGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# Unit and end-to-end tests (a private broker, the services and the strict CSMS).
test: build
	ctest --test-dir $(BUILD) --output-on-failure

unit: build
	ctest --test-dir $(BUILD) -L unit --output-on-failure

e2e: build
	ctest --test-dir $(BUILD) -L e2e --output-on-failure

$(BUILD_ASAN)/CMakeCache.txt:
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DSITEGATE_SANITIZE=ON $(CMAKE_ARGS)

asan: deps $(BUILD_ASAN)/CMakeCache.txt
	cmake --build $(BUILD_ASAN) -j $(JOBS)

# The unit tests again, under AddressSanitizer and UndefinedBehaviorSanitizer.
asan-test: asan
	ctest --test-dir $(BUILD_ASAN) -L unit --output-on-failure

# Simulated wallboxes against the bundled test CSMS; Ctrl-C stops everything.
demo: build
	scripts/demo

# Regenerates the message reference in docs/bus.md and the broker ACL.
docs: build
	$(BUILD)/tools/sitegatectl/sitegate-busdoc update docs/bus.md etc/mosquitto/sitegate.acl

SOURCES = $(shell git ls-files --cached --others --exclude-standard '*.c' '*.h')

format:
	clang-format -i $(SOURCES)

format-check:
	clang-format --dry-run --Werror $(SOURCES)

cppcheck: $(BUILD)/CMakeCache.txt
	cppcheck --project=$(BUILD)/compile_commands.json --error-exitcode=1 --quiet \
		--enable=warning,portability --inline-suppr --suppress=missingIncludeSystem \
		-i$(BUILD)/ -i$(BUILD_ASAN)/

fuzz: deps
	scripts/fuzz

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) build-fuzz
