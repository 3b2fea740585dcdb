/* Read-only memory mapping of a whole file. Weights are used in place. */
#ifndef PRESSO_CORE_MAPPED_FILE_H
#define PRESSO_CORE_MAPPED_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "presso.h"

typedef struct {
    const uint8_t *data; /* NULL for an empty file */
    size_t size;
} presso_mapped_file;

presso_status presso_map_file(const char *path, presso_mapped_file *out);
void presso_unmap_file(presso_mapped_file *file);

#endif
