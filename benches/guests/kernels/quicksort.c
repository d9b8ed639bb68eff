// Quicksort of N pseudo-random 32-bit keys (N ≤ 4M) in a static buffer:
// data-dependent branches, loads and stores, recursion.
#include "bench.h"

#define MAX (4 << 20)
static unsigned v[MAX];

static void sort(unsigned *x, int lo, int hi) {
    while (lo < hi) {
        unsigned p = x[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (x[i] < p) i++;
            while (x[j] > p) j--;
            if (i <= j) {
                unsigned t = x[i];
                x[i] = x[j];
                x[j] = t;
                i++;
                j--;
            }
        }
        if (j - lo < hi - i) {
            sort(x, lo, j);
            lo = i;
        } else {
            sort(x, i, hi);
            hi = j;
        }
    }
}

BENCH_EXPORT int bench(int n) {
    if (n < 1 || n > MAX) return -1;
    unsigned s = 12345;
    for (int i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        v[i] = s ^ (s >> 13);
    }
    sort(v, 0, n - 1);
    unsigned h = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && v[i - 1] > v[i]) return -2;
        h = h * 31 + v[i];
    }
    return (int)h;
}
