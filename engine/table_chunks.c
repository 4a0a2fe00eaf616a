/*
 * table_chunks.c — read filtered HDF5 columns with the inflate outside the
 * HDF5 lock.
 *
 * Why: HDF5 (the serial, thread-safe build) runs every call, its filter
 * pipeline included, under one global lock, and cxfit adds its own
 * `critical(cx_hdf5)` around every HDF5 call.  With shuffle + deflate
 * columns, inflate is most of a read, so threads reading different blocks
 * queue for the lock and the second core idles (bench/README.md).
 *
 * How: inside the lock only H5Dget_chunk_info_by_coord, which says where
 * the stored (compressed) bytes of one chunk lie in the file; they are
 * read with pread() outside it (H5Dread_chunk inside it when the file's
 * driver is not the plain one: see cx_chunk_file_fd), so the copy from
 * the OS's page cache, most of the cost of an unfiltered column, runs on
 * every thread at once.  The chunk is then inflated (libdeflate when the build found it: ~2-3x
 * zlib's speed, same checks, adler32 included; else zlib), the byte shuffle is undone (a no-op for
 * 1-byte types), and table.c then widens the rows to double as it does after H5Dread.  A chunk that
 * lies wholly inside the rows asked for (all but the edges of a block) is inflated, or unshuffled,
 * straight into the caller's buffer: no copy of its own.
 *
 * Scope: 1-D chunked datasets, chunks of at most CX_BLOCK_ROWS rows, whose
 * stored type is the native memory type and whose pipeline is empty, [deflate] or [shuffle,
 * deflate] (what table_write.c writes).  The chunk's filter mask is honoured (a chunk stored with a
 * filter skipped), the edge chunk is stored whole by HDF5 so the last partial chunk needs nothing
 * special, and anything unexpected — a chunk never written (fill value), a size that does not
 * match, a failed call — makes the read fall back to H5Dread, which is always right.
 */
#include "table_chunks.h"
#include "table.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#ifdef CX_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

int cx_chunk_file_fd(hid_t file)
{
    int fd = -1;
    hid_t fapl = H5Fget_access_plist(file), fcpl = H5Fget_create_plist(file);
    hsize_t userblock = 1;
    void *handle = NULL;
    if (fapl >= 0 && fcpl >= 0 && H5Pget_driver(fapl) == H5FD_SEC2 &&
        H5Pget_userblock(fcpl, &userblock) >= 0 && userblock == 0 &&
        H5Fget_vfd_handle(file, fapl, &handle) >= 0 && handle)
        fd = *(int *)handle;
    if (fapl >= 0)
        H5Pclose(fapl);
    if (fcpl >= 0)
        H5Pclose(fcpl);
    return fd;
}

void cx_chunk_plan_init(hid_t dset, hid_t mem_type, int fd, cx_chunk_plan *plan)
{
    memset(plan, 0, sizeof *plan);
    plan->shuffle_at = plan->deflate_at = -1;
    plan->fd = fd;
    if (mem_type < 0)
        return;
    hid_t dcpl = H5Dget_create_plist(dset), ftype = H5Dget_type(dset);
    hsize_t chunk = 0;
    int ok = H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, 1, &chunk) == 1 &&
             chunk > 0 && H5Tequal(ftype, mem_type) > 0;
    int nf = H5Pget_layout(dcpl) == H5D_CHUNKED ? H5Pget_nfilters(dcpl) : 0;
    plan->filtered = nf != 0;
    ok = ok && nf >= 0 && nf <= 2;
    for (int i = 0; ok && i < nf; i++) {
        unsigned flags = 0, cd[8], config = 0;
        size_t ncd = 8;
        H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd, 0, NULL, &config);
        if (id == H5Z_FILTER_SHUFFLE && i == 0 && nf == 2)
            plan->shuffle_at = i;
        else if (id == H5Z_FILTER_DEFLATE && i == nf - 1)
            plan->deflate_at = i;
        else
            ok = 0;
    }
    H5Tclose(ftype);
    H5Pclose(dcpl);
    plan->chunk_rows = (size_t)chunk;
    plan->elem = H5Tget_size(mem_type);
    /* Each block read decodes every chunk it touches in full and keeps
     * nothing: fine for chunks no longer than a block (at most one chunk
     * per block is decoded twice), wasteful for longer ones, which are
     * left to H5Dread and its chunk cache. */
    plan->usable = ok && plan->elem > 0 && plan->chunk_rows <= CX_BLOCK_ROWS;
}

void cx_chunk_scratch_free(cx_chunk_scratch *s)
{
    free(s->raw);
    free(s->plain);
    free(s->bytes);
#ifdef CX_HAVE_LIBDEFLATE
    if (s->inflater)
        libdeflate_free_decompressor(s->inflater);
#endif
    memset(s, 0, sizeof *s);
}

/* Inflate the zlib stream in[0..len) into exactly `want` bytes at out;
 * 0, or -1 for a stream that is broken or of another length. */
static int inflate_exact(cx_chunk_scratch *s, const unsigned char *in, size_t len,
                         unsigned char *out, size_t want)
{
#ifdef CX_HAVE_LIBDEFLATE
    if (!s->inflater && !(s->inflater = libdeflate_alloc_decompressor()))
        return -1;
    size_t got = 0;
    return libdeflate_zlib_decompress(s->inflater, in, len, out, want, &got) ==
                       LIBDEFLATE_SUCCESS &&
                   got == want
               ? 0
               : -1;
#else
    (void)s;
    uLongf got = (uLongf)want;
    return uncompress(out, &got, in, (uLong)len) == Z_OK && (size_t)got == want ? 0 : -1;
#endif
}

static int grow(unsigned char **buf, size_t *cap, size_t want)
{
    if (want <= *cap)
        return 0;
    unsigned char *p = realloc(*buf, want);
    if (!p)
        return -1;
    *buf = p;
    *cap = want;
    return 0;
}

static int chunk_buffers(cx_chunk_scratch *s, size_t bytes)
{
    if (bytes <= s->chunk_cap)
        return 0;
    free(s->plain);
    free(s->bytes);
    s->plain = malloc(bytes);
    s->bytes = malloc(bytes);
    s->chunk_cap = s->plain && s->bytes ? bytes : 0;
    return s->chunk_cap ? 0 : -1;
}

/* All `size` bytes at file offset `at` into buf; 0, or -1 for a short
 * read (a chunk address past the end of a damaged file) or an error. */
static int pread_all(int fd, unsigned char *buf, size_t size, haddr_t at)
{
    size_t got = 0;
    while (got < size) {
        ssize_t r = pread(fd, buf + got, size - got, (off_t)(at + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* Where the chunk starting at row `offset` is stored: its filter mask,
 * file address and stored size; 0 for a chunk never written or a failed
 * call.  The caller holds the HDF5 lock. */
static int locate_chunk(hid_t dset, hsize_t offset, uint32_t *mask, haddr_t *addr, hsize_t *size)
{
    unsigned filter_mask = 0;
    herr_t st;
    H5E_BEGIN_TRY
    {
        st = H5Dget_chunk_info_by_coord(dset, &offset, &filter_mask, addr, size);
    }
    H5E_END_TRY;
    *mask = filter_mask;
    return st >= 0 && *size > 0 && *addr != HADDR_UNDEF;
}

/* The stored bytes of the chunk starting at row `offset` into s->raw, or
 * into `direct` (room for `direct_bytes`) when it is not NULL and the
 * chunk's stored size is exactly that.  Sets *nbytes and *mask (and
 * *in_direct); -1 for a chunk never written or a failed call.  Only the
 * lookup (and, without a descriptor, the read) holds the HDF5 lock. */
static int fetch_chunk(const cx_chunk_plan *p, hid_t dset, hsize_t offset, cx_chunk_scratch *s,
                       unsigned char *direct, size_t direct_bytes, size_t *nbytes, uint32_t *mask,
                       int *in_direct)
{
    int rc = -1;
    haddr_t addr = HADDR_UNDEF;
    hsize_t size = 0;
#pragma omp critical(cx_hdf5)
    {
        int found = locate_chunk(dset, offset, mask, &addr, &size);
        *in_direct = direct && (size_t)size == direct_bytes;
        if (found && (*in_direct || grow(&s->raw, &s->raw_cap, (size_t)size) == 0)) {
            rc = 0;
            if (p->fd < 0) {
                herr_t st;
                H5E_BEGIN_TRY
                {
                    st = H5Dread_chunk(dset, H5P_DEFAULT, &offset, mask,
                                       *in_direct ? direct : s->raw);
                }
                H5E_END_TRY;
                rc = st >= 0 ? 0 : -1;
            }
        }
    }
    if (rc == 0 && p->fd >= 0)
        rc = pread_all(p->fd, *in_direct ? direct : s->raw, (size_t)size, addr);
    if (rc == 0)
        *nbytes = (size_t)size;
    return rc;
}

/* HDF5's shuffle stores byte k of element i at k * n + i; put it back. */
static void unshuffle(const unsigned char *in, size_t n, size_t elem, unsigned char *out)
{
    for (size_t k = 0; k < elem; k++) {
        const unsigned char *src = in + k * n;
        for (size_t i = 0; i < n; i++)
            out[i * elem + k] = src[i];
    }
}

/* Undo the filters the chunk went through (mask bit i set: filter i was
 * skipped for this chunk), leaving the plain chunk at `target` (room for
 * chunk_rows * elem bytes: the caller's buffer or scratch). */
static int decode_chunk(const cx_chunk_plan *p, uint32_t mask, size_t nbytes, cx_chunk_scratch *s,
                        unsigned char *target)
{
    size_t want = p->chunk_rows * p->elem;
    int deflated = p->deflate_at >= 0 && !(mask & (1u << p->deflate_at));
    int shuffled = p->shuffle_at >= 0 && !(mask & (1u << p->shuffle_at)) && p->elem > 1;
    const unsigned char *cur = s->raw;
    if (deflated) {
        unsigned char *to = shuffled ? s->plain : target;
        if (inflate_exact(s, cur, nbytes, to, want) != 0)
            return -1;
        cur = to;
    } else if (nbytes != want) {
        return -1;
    }
    if (shuffled)
        unshuffle(cur, p->chunk_rows, p->elem, target);
    else if (cur != target)
        memcpy(target, cur, want);
    return 0;
}

/* Rows [from, to) of the unfiltered chunk starting at row c0, read with
 * pread() straight from the file into dst: the part of an edge chunk a
 * read asks for, no more (not the whole chunk, then a copy).  -1 for a
 * chunk that is missing or not the plain size. */
static int read_chunk_part(const cx_chunk_plan *p, hid_t dset, size_t c0, size_t from, size_t to,
                           unsigned char *dst)
{
    haddr_t addr = HADDR_UNDEF;
    hsize_t size = 0;
    uint32_t mask = 0;
    int found;
#pragma omp critical(cx_hdf5)
    found = locate_chunk(dset, (hsize_t)c0, &mask, &addr, &size);
    if (!found || (size_t)size != p->chunk_rows * p->elem)
        return -1;
    return pread_all(p->fd, dst, (to - from) * p->elem, addr + (from - c0) * p->elem);
}

int cx_chunk_read(hid_t dset, const cx_chunk_plan *plan, size_t row0, size_t n, void *out,
                  cx_chunk_scratch *s)
{
    size_t cr = plan->chunk_rows, e = plan->elem, end = row0 + n;
    if (!plan->usable || chunk_buffers(s, cr * e) != 0)
        return -1;
    unsigned char *dst = out;
    for (size_t c0 = row0 / cr * cr; c0 < end; c0 += cr) {
        size_t from = row0 > c0 ? row0 : c0, to = end < c0 + cr ? end : c0 + cr, nbytes = 0;
        if (!plan->filtered && plan->fd >= 0 && (from != c0 || to != c0 + cr)) {
            if (read_chunk_part(plan, dset, c0, from, to, dst + (from - row0) * e) != 0)
                return -1;
            continue;
        }
        uint32_t mask = 0;
        /* a chunk wholly inside the rows asked for decodes in place */
        int inside = from == c0 && to == c0 + cr;
        unsigned char *target = inside ? dst + (c0 - row0) * e : s->bytes;
        /* an unfiltered chunk's stored bytes are the rows themselves */
        int in_direct = 0;
        unsigned char *direct = inside && !plan->filtered ? target : NULL;
        if (fetch_chunk(plan, dset, (hsize_t)c0, s, direct, cr * e, &nbytes, &mask, &in_direct) !=
                0 ||
            (!in_direct && decode_chunk(plan, mask, nbytes, s, target) != 0))
            return -1;
        if (!inside)
            memcpy(dst + (from - row0) * e, s->bytes + (from - c0) * e, (to - from) * e);
    }
    return 0;
}
