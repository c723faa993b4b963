# The two commands of the README: `make run` and `make test`.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
SEED ?= 0
# More CMake options for a new build directory; CI's (.ci/run): warnings as errors and the
# interpreter under ASan+UBSan (docs/hardening.md).
CMAKE_OPTIONS ?=
# The clang build with ASan+UBSan everywhere and the libFuzzer targets: `make sanitize`, `make fuzz`.
HARDENED_DIR ?= build-hardened
FUZZ_SECONDS ?= 60

.PHONY: setup configure build interpreter run test bench format clean sanitize fuzz fuzz-parser

setup:
	@bash scripts/setup.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_OPTIONS)

configure: setup $(BUILD_DIR)/build.ninja

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Only the interpreter: a newcomer's first `make run` does not wait for the test suite's build.
interpreter: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target perturb

run: interpreter
	$(BUILD_DIR)/perturb run examples/quickstart.ptb --seed $(SEED)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

$(HARDENED_DIR)/build.ninja:
	@bash scripts/setup.sh --hardening
	cmake -S . -B $(HARDENED_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++ \
	  -DPERTURB_SANITIZE=address,undefined -DPERTURB_FUZZ=ON -DPERTURB_BUILD_BENCH=OFF

# The golden scripts and the command-line tests with every part of Perturb under ASan+UBSan.
sanitize: $(HARDENED_DIR)/build.ninja
	cmake --build $(HARDENED_DIR) -j $(JOBS) --target perturb
	cd $(HARDENED_DIR) && ctest -L "golden|cli" --output-on-failure -j $(JOBS)

# Each libFuzzer target for FUZZ_SECONDS (fuzz/run.sh).
fuzz: $(HARDENED_DIR)/build.ninja
	cmake --build $(HARDENED_DIR) -j $(JOBS) --target fuzz_parse fuzz_check fuzz_eval fuzz_dictionary
	bash fuzz/run.sh $(HARDENED_DIR) $(FUZZ_SECONDS)

# What CI adds (.ci/run): the parser's target alone (it needs no torch, so it builds in a minute),
# for a fixed number of inputs from a fixed seed, so that a run is the same every time.
fuzz-parser: $(HARDENED_DIR)/build.ninja
	cmake --build $(HARDENED_DIR) -j $(JOBS) --target fuzz_parse fuzz_dictionary
	FUZZ_RUNS=20000 bash fuzz/run.sh $(HARDENED_DIR) 600 fuzz_parse

bench: build
	bash bench/run.sh

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD_DIR)
