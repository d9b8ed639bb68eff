// Dense double-precision matrix multiply (i-k-j order) on static buffers:
// loads, stores, floating point, bounds checks. N is the matrix order (≤ 512).
#include "bench.h"

#define MAX 512
static double a[MAX * MAX], b[MAX * MAX], c[MAX * MAX];

BENCH_EXPORT int bench(int n) {
    if (n < 1 || n > MAX) return -1;
    for (int i = 0; i < n * n; i++) {
        a[i] = (double)(i % 17) * 0.5;
        b[i] = (double)(i % 13) * 0.25;
        c[i] = 0;
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++) {
            double aik = a[i * n + k];
            for (int j = 0; j < n; j++) c[i * n + j] += aik * b[k * n + j];
        }
    double sum = 0;
    for (int i = 0; i < n * n; i++) sum += c[i];
    return (int)(long long)(sum / 1024.0);
}
