// clock_*, random_get, sched_yield, poll_oneoff (clock and fd), proc_raise.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_raise"))) int raw_proc_raise(int sig);

int main(void) {
    struct timespec a, b, res;
    clock_gettime(CLOCK_MONOTONIC, &a);
    printf("clock_getres monotonic: %d positive=%d\n", clock_getres(CLOCK_MONOTONIC, &res), res.tv_sec > 0 || res.tv_nsec > 0);
    struct timespec d = {0, 20 * 1000 * 1000};
    printf("nanosleep: %d\n", nanosleep(&d, NULL));
    clock_gettime(CLOCK_MONOTONIC, &b);
    long long ns = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    printf("slept at least 20ms: %d\n", ns >= 20000000LL);
    clock_gettime(CLOCK_REALTIME, &a);
    printf("realtime after 2020: %d\n", a.tv_sec > 1577836800);
    unsigned char r[32];
    memset(r, 0, sizeof r);
    printf("random_get: %d\n", __wasi_random_get(r, sizeof r));
    int nonzero = 0;
    for (int i = 0; i < 32; i++) nonzero += r[i] != 0;
    printf("random nonzero bytes > 16: %d\n", nonzero > 16);
    printf("sched_yield: %d\n", sched_yield());

    int fd = open("/sandbox/p.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    write(fd, "0123456789", 10);
    lseek(fd, 4, SEEK_SET);
    __wasi_subscription_t subs[2];
    memset(subs, 0, sizeof subs);
    subs[0].userdata = 7;
    subs[0].u.tag = __WASI_EVENTTYPE_FD_READ;
    subs[0].u.u.fd_read.file_descriptor = fd;
    subs[1].userdata = 8;
    subs[1].u.tag = __WASI_EVENTTYPE_CLOCK;
    subs[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    subs[1].u.u.clock.timeout = 5ull * 1000 * 1000 * 1000;
    __wasi_event_t ev[2];
    __wasi_size_t n = 0;
    printf("poll file: %d\n", __wasi_poll_oneoff(subs, ev, 2, &n));
    printf("events=%u userdata=%llu type=%d error=%d nbytes=%llu\n", (unsigned)n,
           (unsigned long long)ev[0].userdata, ev[0].type, ev[0].error, (unsigned long long)ev[0].fd_readwrite.nbytes);
    subs[0] = subs[1];
    subs[0].u.u.clock.timeout = 10ull * 1000 * 1000;
    printf("poll clock: %d\n", __wasi_poll_oneoff(subs, ev, 1, &n));
    printf("events=%u userdata=%llu type=%d\n", (unsigned)n, (unsigned long long)ev[0].userdata, ev[0].type);
    printf("poll none: %d\n", __wasi_poll_oneoff(subs, ev, 0, &n));
    subs[0].u.tag = __WASI_EVENTTYPE_FD_WRITE;
    subs[0].u.u.fd_write.file_descriptor = 1234;
    printf("poll bad fd: %d\n", __wasi_poll_oneoff(subs, ev, 1, &n));
    printf("events=%u error=%d\n", (unsigned)n, ev[0].error);
    printf("proc_raise: %d\n", raw_proc_raise(15));
    fflush(stdout);
    // An invalid enum value traps (as wasmtime): status 1, nothing printed.
    __wasi_timestamp_t t;
    printf("bad clock id: %d\n", __wasi_clock_time_get(99, 1, &t));
    return 0;
}
