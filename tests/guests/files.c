// fd_* and path_* on regular files and directories under the preopen
// /sandbox. Prints one line per step: its result, never host-specific data.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <wasi/api.h>

#define CHECK(what, expr) do { int r_ = (expr); printf("%-28s %s\n", what, r_ < 0 ? strerror(errno) : "ok"); } while (0)

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void) {
    char buf[64];
    int fd = open("/sandbox/a.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    printf("open create: %s\n", fd >= 0 ? "ok" : strerror(errno));
    printf("write: %zd\n", write(fd, "hello world\n", 12));
    printf("pwrite: %zd\n", pwrite(fd, "HELLO", 5, 0));
    printf("lseek end: %lld\n", (long long)lseek(fd, 0, SEEK_END));
    printf("lseek cur: %lld\n", (long long)lseek(fd, -6, SEEK_CUR));
    memset(buf, 0, sizeof buf);
    printf("read: %zd '%s'\n", read(fd, buf, sizeof buf - 1), buf);
    memset(buf, 0, sizeof buf);
    printf("pread: %zd '%.5s'\n", pread(fd, buf, 5, 0), buf);
    struct stat st;
    CHECK("fstat", fstat(fd, &st));
    printf("size=%lld regular=%d\n", (long long)st.st_size, S_ISREG(st.st_mode));
    CHECK("ftruncate", ftruncate(fd, 5));
    CHECK("fsync", fsync(fd));
    CHECK("fdatasync", fdatasync(fd));
    int fa = posix_fallocate(fd, 0, 100);
    printf("posix_fallocate: %s\n", fa ? strerror(fa) : "ok");
    CHECK("posix_fadvise", -(posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL) != 0));
    CHECK("fstat2", fstat(fd, &st));
    printf("size=%lld\n", (long long)st.st_size);
    struct timespec ts[2] = {{1000000000, 5}, {1200000000, 7}};
    CHECK("futimens", futimens(fd, ts));
    CHECK("fstat3", fstat(fd, &st));
    printf("mtime=%lld\n", (long long)st.st_mtim.tv_sec);
    int fl = fcntl(fd, F_GETFL);
    printf("append before: %d\n", (fl & O_APPEND) != 0);
    CHECK("fcntl setfl append", fcntl(fd, F_SETFL, fl | O_APPEND));
    printf("append after: %d\n", (fcntl(fd, F_GETFL) & O_APPEND) != 0);
    printf("write append: %zd\n", write(fd, "!", 1));
    CHECK("fstat4", fstat(fd, &st));
    printf("size=%lld\n", (long long)st.st_size);
    __wasi_fdstat_t fst;
    printf("fdstat_get: %d filetype=%d\n", __wasi_fd_fdstat_get(fd, &fst), fst.fs_filetype);
    printf("set_rights shrink: %d\n", __wasi_fd_fdstat_set_rights(fd, fst.fs_rights_base & ~__WASI_RIGHTS_FD_SEEK, 0));
    __wasi_filesize_t pos;
    printf("tell after shrink: %d\n", __wasi_fd_tell(fd, &pos) == 0);
    int fd2 = open("/sandbox/b.txt", O_CREAT | O_WRONLY, 0644);
    printf("renumber: %d\n", __wasi_fd_renumber(fd, fd2));
    printf("close renumbered: %d\n", close(fd2));
    printf("close old: %d %s\n", close(fd), strerror(errno));

    CHECK("mkdir", mkdir("/sandbox/d", 0755));
    CHECK("mkdir again", mkdir("/sandbox/d", 0755));
    CHECK("rename", rename("/sandbox/a.txt", "/sandbox/d/a.txt"));
    CHECK("link", link("/sandbox/d/a.txt", "/sandbox/d/hard.txt"));
    CHECK("symlink", symlink("a.txt", "/sandbox/d/sym"));
    memset(buf, 0, sizeof buf);
    printf("readlink: %zd '%s'\n", readlink("/sandbox/d/sym", buf, sizeof buf), buf);
    CHECK("stat via symlink", stat("/sandbox/d/sym", &st));
    printf("size=%lld nlink=%lld\n", (long long)st.st_size, (long long)st.st_nlink);
    CHECK("lstat", lstat("/sandbox/d/sym", &st));
    printf("is link: %d\n", S_ISLNK(st.st_mode));
    CHECK("utimensat", utimensat(AT_FDCWD, "/sandbox/d/hard.txt", ts, 0));
    CHECK("stat hard", stat("/sandbox/d/hard.txt", &st));
    printf("atime=%lld\n", (long long)st.st_atim.tv_sec);

    DIR *dir = opendir("/sandbox/d");
    char *names[16];
    int n = 0;
    struct dirent *de;
    while (dir && (de = readdir(dir)) && n < 16) names[n++] = strdup(de->d_name);
    if (dir) closedir(dir);
    qsort(names, n, sizeof *names, cmp);
    for (int i = 0; i < n; i++) printf("dirent %s\n", names[i]);

    CHECK("rmdir nonempty", rmdir("/sandbox/d"));
    CHECK("unlink dir", unlink("/sandbox/d"));
    CHECK("unlink sym", unlink("/sandbox/d/sym"));
    CHECK("unlink hard", unlink("/sandbox/d/hard.txt"));
    CHECK("unlink a", unlink("/sandbox/d/a.txt"));
    CHECK("unlink missing", unlink("/sandbox/d/a.txt"));
    CHECK("rmdir", rmdir("/sandbox/d"));
    CHECK("open escape", open("/sandbox/../etc/passwd", O_RDONLY));
    CHECK("open missing", open("/sandbox/nope", O_RDONLY));
    CHECK("open excl", open("/sandbox/b.txt", O_CREAT | O_EXCL | O_WRONLY, 0644));
    CHECK("open dir as file write", open("/sandbox", O_WRONLY));
    return 0;
}
