// fd_prestat_get / fd_prestat_dir_name, fd_fdstat_get on stdio and a
// preopen, fd_filestat_get and fd_seek on stdio, stdout write.
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

int main(void) {
    for (int fd = 3; fd < 6; fd++) {
        __wasi_prestat_t p;
        __wasi_errno_t e = __wasi_fd_prestat_get(fd, &p);
        printf("prestat %d: %d", fd, e);
        if (e == 0) {
            char name[64] = {0};
            printf(" len=%u", (unsigned)p.u.dir.pr_name_len);
            printf(" short=%d", __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, 1));
            printf(" name=%d '%s'", __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, sizeof name), name);
        }
        printf("\n");
    }
    __wasi_fdstat_t st;
    printf("fdstat 3: %d type=%d\n", __wasi_fd_fdstat_get(3, &st), st.fs_filetype);
    printf("fdstat 99: %d\n", __wasi_fd_fdstat_get(99, &st));
    __wasi_filesize_t off;
    printf("seek stdout: %d\n", __wasi_fd_seek(1, 0, __WASI_WHENCE_CUR, &off));
    printf("sock_shutdown on file: %d\n", __wasi_sock_shutdown(3, __WASI_SDFLAGS_WR));
    return 0;
}
