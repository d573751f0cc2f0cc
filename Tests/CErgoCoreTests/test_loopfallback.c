/*
 * test_loopfallback.c — io_uring refused by the kernel (as with
 * kernel.io_uring_disabled or a container's seccomp profile): a seccomp
 * filter makes io_uring_setup fail with EPERM for this process; then the
 * automatic backend is epoll and works, and asking for io_uring fails with
 * ERGO_LOOP_E_UNSUPPORTED. Skips (77) where seccomp filters are refused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "loop_test.h"

static int refuse_io_uring(void)
{
#ifdef __NR_io_uring_setup
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof f / sizeof f[0]), f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return -errno;
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        return -errno;
    return 0;
#else
    return -ENOSYS;
#endif
}

int main(void)
{
    if (refuse_io_uring() != 0) {
        fprintf(stderr, "cannot install a seccomp filter: skip\n");
        return 77;
    }
    ergo_loop_config cfg;
    ergo_loop_config_init(&cfg);
    cfg.backend = ERGO_LOOP_BACKEND_URING;
    ergo_loop *l = NULL;
    CHECK_EQ(ergo_loop_create(&l, &cfg, NULL, NULL), ERGO_LOOP_E_UNSUPPORTED);
    CHECK(l == NULL);
    setenv("ERGO_EVENT_LOOP", "auto", 1);
    cfg.backend = ERGO_LOOP_BACKEND_ENV;
    CHECK_EQ(ergo_loop_create(&l, &cfg, NULL, NULL), 0);
    CHECK(strcmp(ergo_loop_backend_name(l), "epoll") == 0);
    ergo_loop_destroy(l);
    /* And the fallback carries traffic: an echo-free round through lt. */
    lt_backend = ERGO_LOOP_BACKEND_AUTO;
    lt *t = lt_start(NULL);
    CHECK(strcmp(ergo_loop_backend_name(t->loop), "epoll") == 0);
    ergo_loop_id c;
    int fd = lt_pair(t, &c);
    CHECK(blk_write_all(fd, "ping", 4));
    LT_WAIT(t, t->rx_len == 4);
    CHECK_MEM(t->rx, "ping", 4);
    close(fd);
    lt_finish(t);
    CHECK_DONE();
}
