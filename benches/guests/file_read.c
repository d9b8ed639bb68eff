// Reads a whole file sequentially in CHUNK-byte reads (the harness uses a
// 1 GiB file with 64 KiB and 4 KiB chunks). Usage: file_read PATH CHUNK
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: file_read PATH CHUNK\n"); return 2; }
    size_t chunk = (size_t)atol(argv[2]);
    char *buf = malloc(chunk);
    int fd = open(argv[1], O_RDONLY);
    if (!buf || fd < 0) { perror(argv[1]); return 1; }
    uint64_t total = 0, sum = 0;
    for (;;) {
        ssize_t n = read(fd, buf, chunk);
        if (n < 0) { perror("read"); return 1; }
        if (n == 0) break;
        total += (uint64_t)n;
        sum += (unsigned char)buf[0] + (unsigned char)buf[n - 1];
    }
    close(fd);
    printf("read %llu bytes, %llu\n", (unsigned long long)total, (unsigned long long)sum);
    return 0;
}
