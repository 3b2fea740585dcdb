#include "core/path.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"

presso_status presso_path_join(char *out, size_t cap, const char *dir, const char *name) {
    int n = dir[0] ? snprintf(out, cap, "%s/%s", dir, name) : snprintf(out, cap, "%s", name);
    if (n < 0 || (size_t)n >= cap) return presso_fail(PRESSO_ERR_INVALID_ARG, "path too long: %s/%s", dir, name);
    return PRESSO_OK;
}

presso_status presso_path_dirname(char *out, size_t cap, const char *path) {
    const char *slash = strrchr(path, '/');
    int n = slash ? snprintf(out, cap, "%.*s", (int)(slash - path), path) : snprintf(out, cap, ".");
    if (n < 0 || (size_t)n >= cap) return presso_fail(PRESSO_ERR_INVALID_ARG, "path too long: %s", path);
    if (slash == path) snprintf(out, cap, "/");
    return PRESSO_OK;
}

const char *presso_path_basename(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

bool presso_path_is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool presso_path_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool presso_path_has_suffix(const char *path, const char *suffix) {
    size_t n = strlen(path), k = strlen(suffix);
    return n >= k && strcmp(path + n - k, suffix) == 0;
}
