// A bad iovec pointer: the runtime traps (wasmtime's behaviour), the host
// survives.
#include <stdio.h>
#include <wasi/api.h>

int main(void) {
    printf("before\n");
    fflush(stdout);
    __wasi_size_t n;
    int r = __wasi_fd_write(1, (const __wasi_ciovec_t *)0x7ffffff0, 1, &n);
    printf("after %d\n", r);
    return 0;
}
