# Shortcuts; the scripts are the source of truth.
.PHONY: all test sanitize demo bench format
all:
	cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build build
test:
	bash scripts/test.sh
sanitize:
	bash scripts/test.sh --sanitize
demo:
	bash scripts/demo.sh
bench: all
	./build/bench/rtml_benchmarks
format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')
