/*
 * uring_compat.h - the io_uring constants that liburing 2.3 (Debian 12)
 * does not know yet, in one place.
 *
 * They are kernel ABI, so their values never change; a newer liburing
 * defines them itself and these are skipped. Whether the RUNNING kernel
 * knows them is a separate question, asked at run time by
 * uring_features_open() in uring.c (a feature bit, or the EINVAL of a
 * registration that uses them).
 */
#ifndef DAQMUX_URING_COMPAT_H
#define DAQMUX_URING_COMPAT_H

#include <liburing.h>

/* Linux 6.10: a receive may fill several provided buffers at once; its
 * completion names the first, the rest follow it in the ring.
 * sqe->ioprio flag, and the setup feature bit that says it is there. */
#ifndef IORING_RECVSEND_BUNDLE
#define IORING_RECVSEND_BUNDLE (1U << 4)
#endif
#ifndef IORING_FEAT_RECVSEND_BUNDLE
#define IORING_FEAT_RECVSEND_BUNDLE (1U << 14)
#endif

/* Linux 6.12: incrementally consumed buffer rings. Registered with this
 * flag (struct io_uring_buf_reg's `flags`, `pad` in liburing 2.3), a
 * buffer is used up piece by piece; IORING_CQE_F_BUF_MORE on a completion
 * says the kernel keeps the buffer for the next one. */
#ifndef IOU_PBUF_RING_INC
#define IOU_PBUF_RING_INC 2
#endif
#ifndef IORING_CQE_F_BUF_MORE
#define IORING_CQE_F_BUF_MORE (1U << 4)
#endif

/* struct io_uring_buf_reg as the kernel has it since 6.4: liburing 2.3
 * calls `flags` `pad`, a newer one `flags`; this layout fits both. */
struct uring_buf_reg {
	__u64 ring_addr;
	__u32 ring_entries;
	__u16 bgid;
	__u16 flags;
	__u64 resv[3];
};
_Static_assert(sizeof(struct uring_buf_reg) == sizeof(struct io_uring_buf_reg),
	       "struct io_uring_buf_reg layout");

#endif
