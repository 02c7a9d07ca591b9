# A thin front door over CMake. `make run` and `make test` do their own set-up.
JOBS ?= $(shell nproc)
CMAKE ?= cmake
RELEASE_DIR := build/release
TEST_DIR := build/asan
TSA_DIR := build/clang-tsa
TSAN_DIR := build/tsan

.PHONY: all deps release run test format-check thread-safety tsan bench format clean

all: release

deps:
	@bash deploy/install-deps.sh

$(RELEASE_DIR)/CMakeCache.txt: | deps
	$(CMAKE) -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG"

release: deps $(RELEASE_DIR)/CMakeCache.txt
	$(CMAKE) --build $(RELEASE_DIR) -j $(JOBS) --target mmsimd mmctl

# Starts mmsimd in the foreground with the embedded default configuration.
run: release
	@echo "mmsimd: gRPC on 127.0.0.1:50051, metrics on http://127.0.0.1:9464/metrics"
	@echo "talk to it with: $(RELEASE_DIR)/client/mmctl --help"
	exec $(RELEASE_DIR)/server/mmsimd

$(TEST_DIR)/CMakeCache.txt: | deps
	$(CMAKE) -S . -B $(TEST_DIR) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
	  -DMMSIM_SANITIZE=address,undefined

$(TSA_DIR)/CMakeCache.txt: | deps
	CXX=clang++ $(CMAKE) -S . -B $(TSA_DIR) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0"

# clang checks the lock annotations (-Wthread-safety -Wthread-safety-beta
# -Werror, set in CMakeLists.txt for clang) of core, the server and the client.
thread-safety: deps $(TSA_DIR)/CMakeCache.txt
	$(CMAKE) --build $(TSA_DIR) -j $(JOBS) --target mmsim_core mmsim_server_lib mmsimd mmctl

$(TSAN_DIR)/CMakeCache.txt: | deps
	$(CMAKE) -S . -B $(TSAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
	  -DMMSIM_SANITIZE=thread

# ThreadSanitizer over core's concurrent tests (many threads on one system)
# and the server stress test (many gRPC clients, with a deadlock watchdog).
# tests/tsan.supp names only Debian's uninstrumented gRPC/protobuf/abseil.
TSAN_RUN = TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp:halt_on_error=1:second_deadlock_stack=1"
tsan: deps $(TSAN_DIR)/CMakeCache.txt
	$(CMAKE) --build $(TSAN_DIR) -j $(JOBS) --target core_test stress_test
	$(TSAN_RUN) $(TSAN_DIR)/tests/core/core_test \
	  --gtest_filter='*ConcurrencyTest.*:TaskTest.*:LockStatsTest.*:VmaLockTest.Faults*'
	$(TSAN_RUN) MMSIM_STRESS_SECONDS=15 $(TSAN_DIR)/tests/stress/stress_test

# The C++ sources follow .clang-format (Google style).
format-check: deps
	clang-format --dry-run -Werror $$(git ls-files '*.cc' '*.h')

# Builds everything with ASan+UBSan and runs every test.
test: deps $(TEST_DIR)/CMakeCache.txt format-check thread-safety tsan
	$(CMAKE) --build $(TEST_DIR) -j $(JOBS)
	cd $(TEST_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 900

# Release benchmarks and the mmload sweep; tables in bench/results/.
bench: deps $(RELEASE_DIR)/CMakeCache.txt
	$(CMAKE) --build $(RELEASE_DIR) -j $(JOBS) --target mmsim_bench \
	  scaling_bench grpc_api_bench mmsimd mmload
	python3 bench/run_bench.py --build $(RELEASE_DIR)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf build
