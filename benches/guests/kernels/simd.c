// SIMD kernel: a float dot product and a 3x3 box blur over a byte image,
// with wasm_simd128.h intrinsics when built with -msimd128 and plain C
// otherwise. Values are small integers so float sums are exact in any order
// and every build prints the same checksum. N is the number of rounds.
#include "bench.h"
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

#define LEN 4096
#define W 256
#define H 256
#define S (W + 2)
static float fa[LEN], fb[LEN];
static unsigned char img[(H + 2) * S + 16], out[H * W];

static int dot(void) {
#ifdef __wasm_simd128__
    v128_t acc = wasm_f32x4_splat(0);
    for (int i = 0; i < LEN; i += 4)
        acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(fa + i), wasm_v128_load(fb + i)));
    float s = wasm_f32x4_extract_lane(acc, 0) + wasm_f32x4_extract_lane(acc, 1) +
              wasm_f32x4_extract_lane(acc, 2) + wasm_f32x4_extract_lane(acc, 3);
#else
    float s = 0;
    for (int i = 0; i < LEN; i++) s += fa[i] * fb[i];
#endif
    return (int)s;
}

static void blur(void) {
    for (int y = 0; y < H; y++) {
#ifdef __wasm_simd128__
        for (int x = 0; x < W; x += 16) {
            v128_t lo = wasm_i16x8_splat(0), hi = wasm_i16x8_splat(0);
            for (int dy = 0; dy < 3; dy++)
                for (int dx = 0; dx < 3; dx++) {
                    v128_t v = wasm_v128_load(img + (y + dy) * S + x + dx);
                    lo = wasm_i16x8_add(lo, wasm_u16x8_extend_low_u8x16(v));
                    hi = wasm_i16x8_add(hi, wasm_u16x8_extend_high_u8x16(v));
                }
            lo = wasm_u16x8_shr(lo, 3);
            hi = wasm_u16x8_shr(hi, 3);
            wasm_v128_store(out + y * W + x, wasm_u8x16_narrow_i16x8(lo, hi));
        }
#else
        for (int x = 0; x < W; x++) {
            int sum = 0;
            for (int dy = 0; dy < 3; dy++)
                for (int dx = 0; dx < 3; dx++) sum += img[(y + dy) * S + x + dx];
            sum >>= 3;
            out[y * W + x] = (unsigned char)(sum > 255 ? 255 : sum);
        }
#endif
    }
}

BENCH_EXPORT int bench(int n) {
    if (n < 0) return -1;
    for (int i = 0; i < LEN; i++) {
        fa[i] = (float)(i % 8);
        fb[i] = (float)(i % 5);
    }
    for (int i = 0; i < (H + 2) * S; i++) img[i] = (unsigned char)(i * 37 + (i >> 5));
    unsigned int sum = 0;
    for (int r = 0; r < n; r++) {
        fa[r % LEN] = (float)(r % 8);
        sum += (unsigned int)dot();
        img[S + 1 + r % (W * H)] = (unsigned char)r;
        blur();
        sum = sum * 31 + out[(r * 97) % (W * H)] + out[W * H - 1 - r % W];
    }
    return (int)sum;
}
