// A WASI command in C: prints a greeting and its arguments.
// Build with examples/build.sh; run with
//   cargo run --release --bin ringwasm -- run examples/hello.wasm you
#include <stdio.h>

int main(int argc, char **argv) {
    printf("Hello, %s!\n", argc > 1 ? argv[1] : "world");
    return 0;
}
