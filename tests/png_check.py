#!/usr/bin/env python3
"""Checks that a screenshot PNG shows a drawn page: decodes it with the
standard library only (zlib + the five PNG row filters, RFC 2083 §6), then
prints and checks pixel statistics: non-white share, distinct colours, and
how many pixels are near each colour named on the command line.

usage: png_check.py FILE.png [--min-nonwhite F] [--min-colors N] [--color RRGGBB:MIN_PIXELS ...]
exit 0 when every check holds, 1 otherwise."""
import struct
import sys
import zlib


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{path}: not a PNG")
    pos, idat, ihdr = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError(f"{path}: only 8-bit RGB/RGBA, non-interlaced PNGs are handled (depth {depth}, type {ctype})")
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        elif f != 0:
            raise ValueError(f"{path}: bad filter {f} on row {y}")
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def main():
    args = sys.argv[1:]
    path, min_nonwhite, min_colors, wants = args[0], 0.0, 0, []
    i = 1
    while i < len(args):
        if args[i] == "--min-nonwhite":
            min_nonwhite = float(args[i + 1]); i += 2
        elif args[i] == "--min-colors":
            min_colors = int(args[i + 1]); i += 2
        elif args[i] == "--color":
            hexv, count = args[i + 1].split(":")
            wants.append((tuple(int(hexv[k:k + 2], 16) for k in (0, 2, 4)), int(count))); i += 2
        else:
            raise SystemExit(f"png_check.py: unknown option {args[i]}")
    w, h, bpp, rows = decode(path)
    nonwhite, colors, near = 0, set(), [0] * len(wants)
    for line in rows:
        for x in range(0, w * bpp, bpp):
            px = (line[x], line[x + 1], line[x + 2])
            if px != (255, 255, 255):
                nonwhite += 1
                colors.add(px)
                for k, (c, _) in enumerate(wants):
                    if abs(px[0] - c[0]) + abs(px[1] - c[1]) + abs(px[2] - c[2]) <= 24:
                        near[k] += 1
    share = nonwhite / (w * h)
    print(f"{path}: {w}x{h}, {share:.3%} non-white, {len(colors)} colours, " +
          ", ".join(f"#{c[0]:02x}{c[1]:02x}{c[2]:02x}: {n} px" for (c, _), n in zip(wants, near)))
    ok = share >= min_nonwhite and len(colors) >= min_colors and all(n >= m for (_, m), n in zip(wants, near))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
