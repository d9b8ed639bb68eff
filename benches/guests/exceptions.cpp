// Native counterpart of exceptions.wat: throws and catches 1 000 000 C++
// exceptions, each across two calls, and prints the sum of the payloads.
#include <cstdio>

__attribute__((noinline)) static void thrower(int i) { throw i & 7; }

__attribute__((noinline)) static int middle(int i) {
    thrower(i);
    return -1;
}

int main() {
    long long sum = 0;
    for (int i = 0; i < 1000000; i++) {
        try {
            middle(i);
        } catch (int v) {
            sum += v;
        }
    }
    std::printf("%lld\n", sum);
    return 0;
}
