/* Whole-file writes that a reader never sees half done: path.tmp, fsync,
 * rename over path, fsync the directory; and one-line appends that land
 * whole or not at all (a single write() to an O_APPEND descriptor + fsync). */
#ifndef PRESSO_CORE_ATOMIC_FILE_H
#define PRESSO_CORE_ATOMIC_FILE_H

#include <stddef.h>

#include "presso.h"

/* Replaces path with data[0..len); on failure path is untouched and no
 * path.tmp is left behind. */
presso_status presso_write_file_atomic(const char *path, const void *data, size_t len);

/* Appends data[0..len) (one record, ending in '\n') to path with a single
 * write(), creating the file when missing, then fsyncs it. */
presso_status presso_append_record(const char *path, const void *data, size_t len);

#endif
