# The README's commands. Each target installs missing Debian packages first (root, Debian 12).
#   make demo            build and run the main job
#   make test            build and run the whole test suite (ctest)
#   make test-sanitize   the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench           the op and Flow-Attention benchmarks (JSON lines)
#   make test-cuda-emu   the CUDA tests (tests/cuda) on the CPU emulator of tests/cuda_emu: no GPU needed
#   make fuzz            libFuzzer + ASan + UBSan on every file parser (fuzz/), FUZZ_SECONDS per target
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
PACKAGES := g++ cmake make libopenblas-dev libhdf5-dev libfmt-dev doctest-dev libspng-dev libturbojpeg0-dev libmujoco-dev nlohmann-json3-dev
# `make fuzz` only: Debian 12's clang (14) and its libFuzzer.
FUZZ_PACKAGES := clang libfuzzer-14-dev
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 30

.PHONY: deps configure build demo test test-sanitize test-cuda-emu bench fuzz clean

deps:
	@missing=$$(for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/apps/conflux-lra demo --out runs/demo

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-sanitize:
	$(MAKE) test BUILD=build-asan CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONFLUX_SANITIZE=ON -DCONFLUX_CUDA=OFF"

test-cuda-emu:
	$(MAKE) configure BUILD=build-emu CMAKE_FLAGS="-DCONFLUX_CUDA_EMU=ON -DCONFLUX_BUILD_APPS=OFF"
	cmake --build build-emu -j $(JOBS) --target conflux_test_cuda conflux_test_cuda_emu
	ctest --test-dir build-emu -L gpu --output-on-failure

bench: build
	./$(BUILD)/apps/conflux-bench-ops
	./$(BUILD)/apps/conflux-bench-flow-attention

# Builds fuzz/ with clang (the library under ASan + UBSan + coverage), makes the corpora, replays
# fuzz/regressions, fuzzes each target FUZZ_SECONDS and prints executions, coverage and crashes;
# fails on any crash (inputs in $(FUZZ_BUILD)/artifacts/<target>/).
fuzz:
	@$(MAKE) --no-print-directory deps PACKAGES="$(PACKAGES) $(FUZZ_PACKAGES)"
	cmake -S fuzz -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	fuzz/make_corpus.sh $(FUZZ_BUILD)
	fuzz/run_fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

clean:
	rm -rf build build-asan build-emu build-fuzz
