// Quicksort of pseudo-random 32-bit integers: branches and memory traffic.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static void qs(uint32_t *a, long lo, long hi) {
    while (lo < hi) {
        uint32_t p = a[lo + (hi - lo) / 2];
        long i = lo, j = hi;
        while (i <= j) {
            while (a[i] < p) i++;
            while (a[j] > p) j--;
            if (i <= j) { uint32_t t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
        }
        if (j - lo < hi - i) { qs(a, lo, j); lo = i; } else { qs(a, i, hi); hi = j; }
    }
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 4000000;
    uint32_t *a = malloc(sizeof(uint32_t) * n);
    if (!a) return 1;
    uint32_t x = 2463534242u;
    for (long i = 0; i < n; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; a[i] = x; }
    qs(a, 0, n - 1);
    for (long i = 1; i < n; i++) if (a[i - 1] > a[i]) { printf("unsorted\n"); return 1; }
    printf("sorted %ld, median %u\n", n, a[n / 2]);
    return 0;
}
