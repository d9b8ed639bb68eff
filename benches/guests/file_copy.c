// Copies SRC to DST in 64 KiB read/write pairs (the harness copies
// 512 MiB). Usage: file_copy SRC DST
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: file_copy SRC DST\n"); return 2; }
    static char buf[64 * 1024];
    int in = open(argv[1], O_RDONLY);
    int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0) { perror("open"); return 1; }
    long long total = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0) { perror("read"); return 1; }
        if (n == 0) break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w <= 0) { perror("write"); return 1; }
            off += w;
        }
        total += n;
    }
    close(in);
    if (close(out) != 0) { perror("close"); return 1; }
    printf("copied %lld bytes\n", total);
    return 0;
}
