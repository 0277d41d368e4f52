/* A file system that stops answering, for test_hang.cc: the host sonde_abi_hang_host exports
 * these libc functions (ENABLE_EXPORTS), so the plugin's calls to them, through its PLT, land
 * here first. A call on a path that contains $SONDE_HANG_MARKER (or on a descriptor opened on
 * such a path) blocks, like a syscall on a hung network share, for as long as the file
 * $SONDE_HANG_SWITCH exists; O_NONBLOCK changes nothing to that. The first blocked call
 * creates the directory "$SONDE_HANG_SWITCH.hung", so the test knows the hang was met. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct stat;
typedef struct __dirstream DIR;
int access(const char *path, int mode);

enum { kMaxFds = 4096 };
static atomic_char g_marked_fd[kMaxFds]; /* descriptors opened on a marked path */

static void *real(const char *name) { return dlsym(RTLD_NEXT, name); }

static int matches(const char *path) {
    const char *marker = getenv("SONDE_HANG_MARKER");
    return path && marker && *marker && strstr(path, marker) != NULL;
}

static void hang(void) {
    const char *sw = getenv("SONDE_HANG_SWITCH");
    if (!sw) return;
    int told = 0;
    while (access(sw, 0) == 0) {
        if (!told) {
            char hung[4096];
            size_t n = strlen(sw);
            if (n + 6 < sizeof hung) {
                memcpy(hung, sw, n);
                memcpy(hung + n, ".hung", 6);
                int (*mk)(const char *, unsigned) = (int (*)(const char *, unsigned))real("mkdir");
                mk(hung, 0700);
            }
            told = 1;
        }
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void on_path(const char *path) {
    if (matches(path)) hang();
}
static void on_fd(int fd) {
    if (fd >= 0 && fd < kMaxFds && atomic_load_explicit(&g_marked_fd[fd], memory_order_relaxed))
        hang();
}
static int opened(const char *path, int fd) {
    if (fd >= 0 && fd < kMaxFds)
        atomic_store_explicit(&g_marked_fd[fd], (char)matches(path), memory_order_relaxed);
    return fd;
}

int open(const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    unsigned mode = va_arg(ap, unsigned);
    va_end(ap);
    on_path(path);
    int (*f)(const char *, int, ...) = (int (*)(const char *, int, ...))real("open");
    return opened(path, f(path, flags, mode));
}
int open64(const char *path, int flags, ...) {
    va_list ap;
    va_start(ap, flags);
    unsigned mode = va_arg(ap, unsigned);
    va_end(ap);
    on_path(path);
    int (*f)(const char *, int, ...) = (int (*)(const char *, int, ...))real("open64");
    return opened(path, f(path, flags, mode));
}
int stat(const char *path, struct stat *st) {
    on_path(path);
    return ((int (*)(const char *, struct stat *))real("stat"))(path, st);
}
int lstat(const char *path, struct stat *st) {
    on_path(path);
    return ((int (*)(const char *, struct stat *))real("lstat"))(path, st);
}
DIR *opendir(const char *path) {
    on_path(path);
    return ((DIR * (*)(const char *)) real("opendir"))(path);
}
int mkdir(const char *path, unsigned mode) {
    on_path(path);
    return ((int (*)(const char *, unsigned))real("mkdir"))(path, mode);
}
int rename(const char *from, const char *to) {
    on_path(from);
    on_path(to);
    return ((int (*)(const char *, const char *))real("rename"))(from, to);
}
int unlink(const char *path) {
    on_path(path);
    return ((int (*)(const char *))real("unlink"))(path);
}
int fsync(int fd) {
    on_fd(fd);
    return ((int (*)(int))real("fsync"))(fd);
}
long read(int fd, void *buf, unsigned long n) {
    on_fd(fd);
    return ((long (*)(int, void *, unsigned long))real("read"))(fd, buf, n);
}
int close(int fd) {
    if (fd >= 0 && fd < kMaxFds) atomic_store_explicit(&g_marked_fd[fd], 0, memory_order_relaxed);
    return ((int (*)(int))real("close"))(fd);
}
