// N cycles of create, stat, write, read, rename, unlink in DIR (the
// harness runs 3000). Usage: file_meta DIR [N]
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: file_meta DIR [N]\n"); return 2; }
    int n = argc > 2 ? atoi(argv[2]) : 3000;
    char a[4096], b[4096], data[256], back[256];
    memset(data, 'x', sizeof data);
    long long bytes = 0;
    for (int i = 0; i < n; i++) {
        snprintf(a, sizeof a, "%s/meta-%d.tmp", argv[1], i);
        snprintf(b, sizeof b, "%s/meta-%d.done", argv[1], i);
        int fd = open(a, O_RDWR | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) { perror(a); return 1; }
        struct stat st;
        if (fstat(fd, &st) != 0) { perror("fstat"); return 1; }
        if (write(fd, data, sizeof data) != (ssize_t)sizeof data) { perror("write"); return 1; }
        if (pread(fd, back, sizeof back, 0) != (ssize_t)sizeof back) { perror("pread"); return 1; }
        close(fd);
        if (stat(a, &st) != 0) { perror("stat"); return 1; }
        bytes += st.st_size;
        if (rename(a, b) != 0) { perror("rename"); return 1; }
        if (unlink(b) != 0) { perror("unlink"); return 1; }
    }
    printf("%d cycles, %lld bytes\n", n, bytes);
    return 0;
}
