// Open-addressing hash map: inserts, lookups and deletes with a realistic
// mix of hits and misses.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct { uint64_t key; uint64_t val; } slot;

static uint64_t mix(uint64_t k) {
    k ^= k >> 33; k *= 0xff51afd7ed558ccdull; k ^= k >> 33; k *= 0xc4ceb9fe1a85ec53ull; k ^= k >> 33;
    return k;
}

int main(int argc, char **argv) {
    long ops = argc > 1 ? atol(argv[1]) : 4000000;
    size_t cap = 1 << 20, mask = cap - 1, live = 0;
    slot *t = calloc(cap, sizeof(slot));
    if (!t) return 1;
    uint64_t x = 88172645463325252ull, sum = 0;
    for (long i = 0; i < ops; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        uint64_t key = (x % 600000) + 1;
        size_t h = mix(key) & mask;
        while (t[h].key && t[h].key != key) h = (h + 1) & mask;
        if (t[h].key == key) {
            sum += t[h].val;
            t[h].val += i;
        } else if (live < cap / 2) {
            t[h].key = key; t[h].val = (uint64_t)i; live++;
        }
    }
    printf("hashmap: %zu live, sum %llu\n", live, (unsigned long long)sum);
    return 0;
}
