import struct, os, sys
def crc32c(d):
    c = 0xFFFFFFFF
    for b in d:
        c ^= b
        for _ in range(8): c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    return c ^ 0xFFFFFFFF
def fr(t, src, seq, p=b"", ns=1000, crc=None, magic=0xDA7A, ver=1, length=None):
    return struct.pack(">HBBIQQII", magic, ver, t, src, seq, ns, len(p) if length is None else length,
                       (crc32c(p) if p else 0) if crc is None else crc) + p
d = sys.argv[1]
seeds = {
 "valid_stream": b"\x00" + fr(1, 3, 0, b"module-3") + b"".join(fr(2, 3, i, bytes([i]) * i) for i in range(20)) + fr(4, 3, 20),
 "valid_split": b"\x05" + fr(1, 1, 0, b"x") + fr(2, 1, 0, b"abc") + fr(2, 1, 1, b"") + fr(4, 1, 2),
 "bad_magic": b"\x00" + fr(2, 1, 0, b"abc", magic=0x1234),
 "bad_version": b"\x00" + fr(2, 1, 0, b"abc", ver=2),
 "bad_type": b"\x00" + fr(9, 1, 0),
 "oversize": b"\x00" + fr(2, 1, 0, length=0xFFFFFFFF) + b"xxxx",
 "crc_wrong": b"\x00" + fr(2, 1, 0, b"hello", crc=1) + fr(4, 1, 1),
 "dup_reorder": b"\x00" + fr(2, 1, 0, b"a") + fr(2, 1, 2, b"c") + fr(2, 1, 1, b"b") + fr(2, 1, 1, b"b") + fr(4, 1, 3),
 "bye_more": b"\x00" + fr(2, 1, 0, b"a") + fr(4, 1, 5),
 "bye_less": b"\x00" + fr(2, 1, 0, b"a") + fr(2, 1, 1, b"a") + fr(4, 1, 1),
 "truncated": b"\x03" + fr(2, 1, 0, b"abcdef")[:20],
 "long_hello": b"\x00" + fr(1, 1, 0, b"n" * 300),
 "request_from_source": b"\x00" + fr(3, 1, 0),
 "big_seq": b"\x00" + fr(2, 1, 2**64 - 1, b"a"),
}
os.makedirs(d, exist_ok=True)
for k, v in seeds.items():
    open(os.path.join(d, k), "wb").write(v)
