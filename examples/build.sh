#!/bin/sh
# Builds the C examples into .wasm files beside them (clang-14 + wasi-libc;
# scripts/test installs both).
set -eu
cd "$(dirname "$0")"
for src in *.c; do
    clang-14 --target=wasm32-wasi -O2 -fuse-ld=lld -o "${src%.c}.wasm" "$src"
done
