/* Reads /sandbox/data.bin (byte i is i * 7 % 251) in mixed chunk sizes with
 * read(), readv() and pread(), checking every byte and the file position.
 * The host evicts the file from the page cache first, so ringwasm's
 * page-cache-first reads see misses and short hits (tests/wasi_p1.rs,
 * `read_evicted`). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

static unsigned char buf[3][70000];

static int check(const unsigned char *p, size_t n, long at) {
    for (size_t i = 0; i < n; i++) {
        if (p[i] != (unsigned char)((at + (long)i) * 7 % 251)) {
            printf("mismatch at %ld\n", at + (long)i);
            return 1;
        }
    }
    return 0;
}

int main(void) {
    int fd = open("/sandbox/data.bin", O_RDONLY);
    if (fd < 0) {
        perror("open");
        return 2;
    }
    static const size_t chunks[] = {4096, 1000, 65536, 1, 8192, 4095};
    long total = 0;
    int bad = 0;
    for (int i = 0;; i++) {
        if (i % 5 == 4) {
            struct iovec v[3] = {{buf[0], 100}, {buf[1], 0}, {buf[2], 6000}};
            ssize_t n = readv(fd, v, 3);
            if (n <= 0) break;
            size_t first = n < 100 ? (size_t)n : 100;
            bad |= check(buf[0], first, total);
            if (n > 100) bad |= check(buf[2], (size_t)n - 100, total + 100);
            total += n;
            continue;
        }
        size_t want = chunks[i % 6];
        ssize_t n = read(fd, buf[0], want);
        if (n < 0) {
            perror("read");
            return 3;
        }
        if (n == 0) break;
        bad |= check(buf[0], (size_t)n, total);
        total += n;
    }
    printf("read %ld bytes%s\n", total, bad ? " with mismatches" : "");
    printf("position %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    static const long offs[] = {0, 5000, 1 << 20, (3 << 20) + 17, (4 << 20) - 10};
    for (int i = 0; i < 5; i++) {
        ssize_t n = pread(fd, buf[1], 20000, offs[i]);
        printf("pread at %ld: %ld%s\n", offs[i], (long)n,
               n > 0 && check(buf[1], (size_t)n, offs[i]) ? " mismatch" : "");
    }
    printf("position after pread %ld\n", (long)lseek(fd, 0, SEEK_CUR));
    close(fd);
    return bad;
}
