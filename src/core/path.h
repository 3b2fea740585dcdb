/* File paths: joining and splitting with truncation reported, not hidden. */
#ifndef PRESSO_CORE_PATH_H
#define PRESSO_CORE_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "presso.h"

#define PRESSO_PATH_MAX 4096

/* out = dir + "/" + name (or name when dir is empty). */
presso_status presso_path_join(char *out, size_t cap, const char *dir, const char *name);
/* The directory part of path ("." when it has none). */
presso_status presso_path_dirname(char *out, size_t cap, const char *path);
const char *presso_path_basename(const char *path);
bool presso_path_is_file(const char *path);
bool presso_path_is_dir(const char *path);
bool presso_path_has_suffix(const char *path, const char *suffix);

#endif
