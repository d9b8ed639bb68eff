// Recursive Fibonacci: call overhead and the stack-limit check.
#include "bench.h"

static unsigned fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

BENCH_EXPORT int bench(int n) { return (int)fib((unsigned)n); }
