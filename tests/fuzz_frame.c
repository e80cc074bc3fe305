/*
 * fuzz_frame.c - libFuzzer target for the header decoder and the frame
 * assembler, the code that meets every byte a source sends.
 *
 * The input is cut into pieces whose sizes come from the input itself, so
 * the fuzzer explores splits at every offset as well as the bytes. Every
 * completed frame goes through the same accounting the server does.
 * What must hold, whatever the bytes: no crash, no sanitizer report, the
 * assembler consumes every byte it is given (or stops at a protocol
 * error), a length above the limit is refused before any payload, and
 * the accounting balances: next_seq == (frames - duplicates) + lost.
 *
 *   make fuzz                      # 60 s, seeds in tests/fuzz_seeds/
 *   make fuzz FUZZ_SECONDS=600
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "proto.h"
#include "source.h"

#define FUZZ_MAX_FRAME 4096u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_parser p;
	struct source src;
	size_t off = 0;
	char why[128];

	if (size < 1)
		return 0;
	/* First byte: the piece size pattern (1..16 bytes, or whole). */
	unsigned pattern = data[0];
	data++, size--;

	frame_parser_init(&p, FUZZ_MAX_FRAME);
	source_init(&src);
	while (off < size) {
		size_t piece = pattern == 0 ? size - off : 1 + (pattern + off) % 16;
		if (piece > size - off)
			piece = size - off;
		const uint8_t *buf = data + off;
		size_t left = piece;
		while (left) {
			struct frame f;
			size_t used = 0;
			enum frame_result r = frame_parse(&p, buf, left, &used, &f, why, sizeof(why));
			if (used > left)
				abort();
			buf += used;
			left -= used;
			if (r == FRAME_BAD)
				goto out;
			if (r == FRAME_MORE) {
				if (left)
					abort();   /* MORE must mean "took it all" */
				break;
			}
			if (f.h.length > FUZZ_MAX_FRAME)
				abort();   /* the check must hold before any payload */
			if (f.h.type == PROTO_DATA) {
				if (source_data(&src, &f.h, f.crc_ok, off + 1, 10) < 0)
					goto out;
			} else if (f.h.type == PROTO_BYE) {
				source_bye(&src, f.h.seq);
				goto out;
			} else if (f.h.type == PROTO_HELLO && strlen(f.name) > PROTO_NAME_MAX) {
				abort();
			}
		}
		off += piece;
	}
	source_eof(&src, frame_partial(&p));
out:
	/* Every sequence number below next_seq was either received once
	 * (frames - duplicates) or is counted lost: nothing vanishes. */
	if (src.status != SRC_ERROR && src.next_seq != src.frames - src.duplicates + src.lost)
		abort();
	source_free(&src);
	return 0;
}
