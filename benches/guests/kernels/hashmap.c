// Open-addressing hash map (linear probing) on a static table: N inserts
// and 2N lookups, cache misses and unpredictable branches. N ≤ 1M.
#include "bench.h"

#define CAP (1 << 21)
static unsigned keys[CAP], vals[CAP];

static unsigned mix(unsigned x) {
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    return x ^ (x >> 16);
}

BENCH_EXPORT int bench(int n) {
    if (n < 1 || n > CAP / 2) return -1;
    for (int i = 0; i < CAP; i++) keys[i] = 0;
    for (unsigned i = 1; i <= (unsigned)n; i++) {
        unsigned k = mix(i) | 1, h = mix(k) & (CAP - 1);
        while (keys[h] && keys[h] != k) h = (h + 1) & (CAP - 1);
        keys[h] = k;
        vals[h] = i;
    }
    unsigned sum = 0;
    for (unsigned i = 1; i <= 2u * (unsigned)n; i++) {
        unsigned k = mix(i) | 1, h = mix(k) & (CAP - 1);
        while (keys[h] && keys[h] != k) h = (h + 1) & (CAP - 1);
        if (keys[h] == k) sum += vals[h];
    }
    return (int)sum;
}
