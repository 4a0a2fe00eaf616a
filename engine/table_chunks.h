/*
 * table_chunks.h — internal to table.c: read filtered columns chunk by
 * chunk, inflating outside the HDF5 lock (see table_chunks.c).
 */
#ifndef CX_TABLE_CHUNKS_H
#define CX_TABLE_CHUNKS_H

#include <hdf5.h>
#include <stddef.h>

/* How a column's chunks can be decoded by hand; usable == 0 sends every
 * read of the column to H5Dread. */
typedef struct cx_chunk_plan {
    int usable;
    int filtered;      /* any filter in the pipeline: reads decode (worth caching) */
    size_t chunk_rows; /* rows per chunk                          */
    size_t elem;       /* bytes per element (stored = native)     */
    int shuffle_at;    /* filter index of shuffle, -1 when absent */
    int deflate_at;    /* filter index of deflate, -1 when absent */
    int fd;            /* the file's descriptor for reading chunks
                          outside the lock (cx_chunk_file_fd), or -1 */
} cx_chunk_plan;

/* Scratch one reading thread reuses across columns and chunks. */
typedef struct cx_chunk_scratch {
    unsigned char *raw; /* a chunk as stored (compressed)   */
    size_t raw_cap;
    unsigned char *plain; /* a chunk inflated, still shuffled */
    unsigned char *bytes; /* a chunk decoded (edge chunks)    */
    size_t chunk_cap;     /* bytes in plain and in bytes      */
    void *inflater;       /* libdeflate's decompressor, when built with it */
} cx_chunk_scratch;

/* Decide at open (inside the HDF5 lock) whether dataset `dset`, whose
 * native memory type is `mem_type`, qualifies; fd is cx_chunk_file_fd's. */
void cx_chunk_plan_init(hid_t dset, hid_t mem_type, int fd, cx_chunk_plan *plan);

/* The descriptor of HDF5 file `file` when its chunks can be read with
 * pread() at the addresses HDF5 reports: the default (sec2) driver and no
 * user block (addresses are relative to its end).  Else -1: every chunk
 * is fetched by H5Dread_chunk inside the lock. */
int cx_chunk_file_fd(hid_t file);

/* Rows [row0, row0 + n) of the column into `out` (n elements of the
 * native type, contiguous).  Takes the HDF5 lock only to find each raw
 * chunk (its address and size), then reads it with pread() outside the
 * lock (plan->fd; else H5Dread_chunk inside it), straight into `out` when
 * the chunk is unfiltered and wholly inside the rows.  Returns 0 on success, -1 when this read
 * needs H5Dread instead (a missing chunk, an unexpected size, a failed call): the caller falls
 * back, so nothing is lost but time. */
int cx_chunk_read(hid_t dset, const cx_chunk_plan *plan, size_t row0, size_t n, void *out,
                  cx_chunk_scratch *s);

void cx_chunk_scratch_free(cx_chunk_scratch *s);

/* HDF5's native integer type of `size` bytes (1, 2, 4, 8), or -1; shared
 * by the reader (table.c) and the writer (table_write.c). */
hid_t cx_native_integer_type(size_t size, int is_unsigned);

#endif
