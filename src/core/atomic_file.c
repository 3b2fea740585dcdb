#include "core/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/path.h"

static presso_status write_all(int fd, const char *path, const char *p, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return presso_fail(PRESSO_ERR_IO, "%s: write failed: %s", path, n < 0 ? strerror(errno) : "no progress");
        p += n;
        len -= (size_t)n;
    }
    return PRESSO_OK;
}

presso_status presso_write_file_atomic(const char *path, const void *data, size_t len) {
    char tmp[PRESSO_PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return presso_fail(PRESSO_ERR_INVALID_ARG, "path too long: %s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return presso_fail(PRESSO_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    presso_status st = write_all(fd, tmp, data, len);
    if (st == PRESSO_OK && fsync(fd) != 0) st = presso_fail(PRESSO_ERR_IO, "%s: fsync failed: %s", tmp, strerror(errno));
    if (close(fd) != 0 && st == PRESSO_OK) st = presso_fail(PRESSO_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
    if (st == PRESSO_OK && rename(tmp, path) != 0)
        st = presso_fail(PRESSO_ERR_IO, "%s: cannot rename %s over it: %s", path, tmp, strerror(errno));
    if (st != PRESSO_OK) {
        unlink(tmp);
        return st;
    }
    /* Make the rename itself durable (best effort: some filesystems refuse). */
    char dir[PRESSO_PATH_MAX];
    if (presso_path_dirname(dir, sizeof dir, path) == PRESSO_OK) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
    return PRESSO_OK;
}

presso_status presso_append_record(const char *path, const void *data, size_t len) {
    if (len == 0) return PRESSO_OK;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return presso_fail(PRESSO_ERR_IO, "%s: cannot open for appending: %s", path, strerror(errno));
    /* One write() on an O_APPEND descriptor: the record is placed at the end
     * in one piece (POSIX), so a crash leaves either all of it or none of it
     * in the page cache; fsync makes it durable before the next cell. */
    ssize_t n;
    do {
        n = write(fd, data, len);
    } while (n < 0 && errno == EINTR);
    presso_status st = PRESSO_OK;
    if (n < 0) st = presso_fail(PRESSO_ERR_IO, "%s: append failed: %s", path, strerror(errno));
    else if ((size_t)n != len) st = presso_fail(PRESSO_ERR_IO, "%s: short append (%zd of %zu bytes)", path, n, len);
    if (st == PRESSO_OK && fsync(fd) != 0) st = presso_fail(PRESSO_ERR_IO, "%s: fsync failed: %s", path, strerror(errno));
    close(fd);
    return st;
}
