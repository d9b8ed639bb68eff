// C++ exceptions end to end: thrown across frames, caught by type and by
// catch(...), rethrown, nested, with destructors running during unwinding.
#include <cstdio>
#include <cstdlib>

struct Boom {
    int code;
};
struct Other {
    const char *what;
};

struct Guard {
    const char *name;
    explicit Guard(const char *n) : name(n) {}
    ~Guard() { std::printf("  ~Guard(%s)\n", name); }
};

static int depth(int n) {
    Guard g(n == 3 ? "depth3" : "inner");
    if (n == 0) throw Boom{42};
    return depth(n - 1) + 1;
}

static void rethrower() {
    try {
        throw Other{"first"};
    } catch (const Other &o) {
        std::printf("  rethrowing %s\n", o.what);
        throw;
    }
}

static int count_throws(int n) {
    int caught = 0;
    for (int i = 0; i < n; i++) {
        try {
            if (i % 3 == 0) throw Boom{i};
            if (i % 3 == 1) throw Other{"x"};
            throw i;
        } catch (const Boom &b) {
            caught += 1;
        } catch (const Other &) {
            caught += 2;
        } catch (...) {
            caught += 3;
        }
    }
    return caught;
}

int main(int argc, char **argv) {
    std::printf("unwind through destructors:\n");
    try {
        depth(3);
    } catch (const Boom &b) {
        std::printf("caught Boom %d\n", b.code);
    }
    try {
        rethrower();
    } catch (const Other &o) {
        std::printf("caught rethrown Other %s\n", o.what);
    }
    try {
        try {
            throw Boom{7};
        } catch (const Other &) {
            std::printf("wrong handler\n");
        }
    } catch (const Boom &b) {
        std::printf("outer caught Boom %d\n", b.code);
    }
    try {
        throw 3.5;
    } catch (...) {
        std::printf("catch-all caught a double\n");
    }
    int n = argc > 1 ? std::atoi(argv[1]) : 1000;
    std::printf("%d throws, sum %d\n", n, count_throws(n));
    return 7;
}
