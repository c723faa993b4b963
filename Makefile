# The two commands of the README: `make run` and `make test`.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
SEED ?= 0

.PHONY: setup configure build interpreter run test bench format clean

setup:
	@bash scripts/setup.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release

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

bench: build
	bash bench/run.sh

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD_DIR)
