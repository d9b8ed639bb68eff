// Shared scaffolding for the import-free kernels.
//
// Each kernel defines `int bench(int n)` returning a checksum and calls no
// libc, so it compiles to a module without imports:
//
//   clang-14 --target=wasm32-wasi -O2 -nostdlib -Wl,--no-entry \
//       -fuse-ld=lld -o k.wasm k.c        # run with --invoke bench k.wasm N
//   clang-14 -O2 -o k k.c                 # native: ./k N prints the same
#ifndef RINGWASM_KERNEL_H
#define RINGWASM_KERNEL_H

#ifdef __wasm__
#define BENCH_EXPORT __attribute__((export_name("bench")))
// Clang turns zeroing loops into `memset` calls; without libc the module
// must define it. `no_builtin` stops this loop becoming a call to itself.
__attribute__((no_builtin("memset"))) void *memset(void *dst, int c, unsigned long n) {
    unsigned char *d = dst;
    while (n--) *d++ = (unsigned char)c;
    return dst;
}
#else
#include <stdio.h>
#include <stdlib.h>
#define BENCH_EXPORT
int bench(int n);
int main(int argc, char **argv) {
    printf("%d\n", bench(argc > 1 ? atoi(argv[1]) : 1));
    return 0;
}
#endif

#endif
