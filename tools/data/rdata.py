#!/usr/bin/env python3
"""Minimal reader for R serialization (XDR, format v2/v3) and R lazy-load DBs
(.rdx/.rdb pairs as shipped in installed R packages' data/ dirs).
Pure Python 3 stdlib. Enough for data.frames / factors / numeric / character
/ lists / pairlists / S4 objects (e.g. Matrix::dgCMatrix)."""
import bz2, gzip, lzma, struct, zlib

NILSXP, SYMSXP, LISTSXP, CLOSXP, ENVSXP, PROMSXP, LANGSXP = 0, 1, 2, 3, 4, 5, 6
SPECIALSXP, BUILTINSXP, CHARSXP, LGLSXP, INTSXP, REALSXP, CPLXSXP = 7, 8, 9, 10, 13, 14, 15
STRSXP, DOTSXP, ANYSXP, VECSXP, EXPRSXP, BCODESXP, EXTPTRSXP = 16, 17, 18, 19, 20, 21, 22
WEAKREFSXP, RAWSXP, S4SXP = 23, 24, 25
REFSXP, NILVALUE_SXP, GLOBALENV_SXP, UNBOUNDVALUE_SXP = 255, 254, 253, 252
MISSINGARG_SXP, BASENAMESPACE_SXP, NAMESPACESXP, PACKAGESXP = 251, 250, 249, 248
PERSISTSXP, EMPTYENV_SXP, BASEENV_SXP, ATTRLANGSXP, ATTRLISTSXP, ALTREP_SXP = 247, 242, 241, 240, 239, 238
NA_INT = -2147483648


class RObj:
    """Generic R object: .type (SEXPTYPE), .value, .attrs (dict name->RObj)."""
    def __init__(self, t, value=None, attrs=None):
        self.type, self.value, self.attrs = t, value, attrs or {}

    def attr(self, name, default=None):
        a = self.attrs.get(name)
        return default if a is None else a.value

    def __repr__(self):
        v = self.value
        if isinstance(v, list) and len(v) > 6:
            v = repr(v[:6])[:-1] + ', ... (%d)]' % len(self.value)
        return 'RObj(%d, %s, attrs=%s)' % (self.type, v, list(self.attrs))


class Reader:
    def __init__(self, data):
        self.b, self.p, self.refs = data, 0, []

    def int(self):
        v = struct.unpack_from('>i', self.b, self.p)[0]
        self.p += 4
        return v

    def ints(self, n):
        v = struct.unpack_from('>%di' % n, self.b, self.p)
        self.p += 4 * n
        return list(v)

    def doubles(self, n):
        v = struct.unpack_from('>%dd' % n, self.b, self.p)
        self.p += 8 * n
        return list(v)

    def length(self):
        n = self.int()
        if n == -1:
            hi, lo = self.int(), self.int()
            n = (hi << 32) + lo
        return n

    def header(self):
        fmt = self.b[self.p:self.p + 2]
        if fmt != b'X\n':
            raise ValueError('only XDR format supported, got %r' % fmt)
        self.p += 2
        version = self.int()
        self.int(); self.int()  # writer R version, min reader version
        if version == 3:
            n = self.int(); self.p += n  # native encoding
        return self.item()

    def attrlist(self):
        """read a pairlist as dict tag->RObj"""
        pl = self.item()
        out = {}
        while pl is not None and pl.type in (LISTSXP,):
            tag, car, cdr = pl.value
            out[tag if tag is not None else len(out)] = car
            pl = cdr
        return out

    def item(self):
        flags = self.int()
        t = flags & 0xFF
        levs = flags >> 12
        has_attr = bool(flags & (1 << 9))
        has_tag = bool(flags & (1 << 10))
        if t == NILVALUE_SXP:
            return None
        if t in (EMPTYENV_SXP, BASEENV_SXP, GLOBALENV_SXP, UNBOUNDVALUE_SXP,
                 MISSINGARG_SXP, BASENAMESPACE_SXP):
            return RObj(t)
        if t == REFSXP:
            idx = (flags >> 8) or self.int()
            return self.refs[idx - 1]
        if t == PERSISTSXP:
            s = self.item()
            o = RObj(t, s.value)
            self.refs.append(o)
            return o
        if t == SYMSXP:
            c = self.item()  # CHARSXP
            self.refs.append(c.value)
            return c.value
        if t in (PACKAGESXP, NAMESPACESXP):
            s = self.item()
            o = RObj(t, s.value)
            self.refs.append(o)
            return o
        if t == ENVSXP:
            o = RObj(t)
            self.refs.append(o)
            locked = self.int()
            enclos, frame, hashtab, attrs = self.item(), self.item(), self.item(), self.item()
            o.value = {'enclos': enclos, 'frame': frame, 'hashtab': hashtab, 'locked': locked}
            return o
        if t in (LISTSXP, LANGSXP, CLOSXP, PROMSXP, DOTSXP, ATTRLANGSXP, ATTRLISTSXP):
            attrs = self.attrlist() if has_attr else {}
            tag = self.item() if has_tag else None
            car = self.item()
            cdr = self.item()
            return RObj(LISTSXP if t in (LISTSXP, ATTRLISTSXP) else t, (tag, car, cdr), attrs)
        if t == ALTREP_SXP:
            info = self.item()
            state = self.item()
            attr = self.item()
            cls = info.value[1].value[0] if False else None
            # info is a pairlist (class sym, package sym, type int)
            cname = info.value[0]
            return self.altrep(cname, state, attr)
        if t == CHARSXP:
            n = self.int()
            if n == -1:
                return RObj(t, None)
            s = self.b[self.p:self.p + n]
            self.p += n
            enc = 'latin-1' if (levs & 4) else 'utf-8'
            return RObj(t, s.decode(enc, 'replace'))
        if t in (LGLSXP, INTSXP):
            n = self.length()
            v = [None if x == NA_INT else x for x in self.ints(n)]
            o = RObj(t, v)
        elif t == REALSXP:
            o = RObj(t, self.doubles(self.length()))
        elif t == CPLXSXP:
            d = self.doubles(2 * self.length())
            o = RObj(t, [complex(d[i], d[i + 1]) for i in range(0, len(d), 2)])
        elif t == STRSXP:
            n = self.length()
            o = RObj(t, [self.item().value for _ in range(n)])
        elif t in (VECSXP, EXPRSXP):
            n = self.length()
            o = RObj(t, [self.item() for _ in range(n)])
        elif t == RAWSXP:
            n = self.length()
            o = RObj(t, self.b[self.p:self.p + n]); self.p += n
        elif t == S4SXP:
            o = RObj(t, None)
        elif t in (SPECIALSXP, BUILTINSXP):
            n = self.int(); o = RObj(t, self.b[self.p:self.p + n].decode()); self.p += n
        elif t == BCODESXP:
            raise NotImplementedError('bytecode not supported')
        elif t in (EXTPTRSXP, WEAKREFSXP):
            o = RObj(t); self.refs.append(o)
            if t == EXTPTRSXP:
                self.item(); self.item()
        else:
            raise NotImplementedError('SEXPTYPE %d at %d' % (t, self.p))
        if has_attr:
            o.attrs = self.attrlist()
        return o

    def altrep(self, cname, state, attr):
        if cname == 'compact_intseq':
            n, start, step = [int(x) for x in state.value]
            o = RObj(INTSXP, list(range(start, start + n * step, step)))
        elif cname == 'compact_realseq':
            n, start, step = state.value
            o = RObj(REALSXP, [start + i * step for i in range(int(n))])
        elif cname in ('wrap_integer', 'wrap_real', 'wrap_string', 'wrap_logical', 'wrap_list'):
            o = state.value[0]
        elif cname == 'deferred_string':
            arg = state.value[0]
            o = RObj(STRSXP, [None if x is None else ('%d' % x if isinstance(x, int) else repr(x))
                              for x in arg.value])
        else:
            raise NotImplementedError('ALTREP class ' + str(cname))
        if attr is not None and attr.type == LISTSXP:
            d = {}
            pl = attr
            while pl is not None:
                tag, car, cdr = pl.value
                d[tag] = car
                pl = cdr
            o.attrs = d
        return o


def decompress_blob(blob):
    """R's lazy-load DB blob / rds file: detect compression"""
    if blob[:2] == b'\x1f\x8b':
        return gzip.decompress(blob)
    if blob[:3] == b'BZh':
        return bz2.decompress(blob)
    if blob[:6] == b'\xfd7zXZ\x00':
        return lzma.decompress(blob)
    if blob[:2] in (b'X\n', b'A\n', b'B\n'):
        return blob
    # lazy-load blob: 4-byte big-endian uncompressed length, then optional type byte
    ulen = struct.unpack('>I', blob[:4])[0]
    c = blob[4:5]
    if c == b'Z':
        return zlib.decompress(blob[5:])
    if c == b'2':
        return bz2.decompress(blob[5:])
    if c == b'X':
        return lzma.decompress(blob[5:], format=lzma.FORMAT_ALONE) if blob[5:6] != b'\xfd' else lzma.decompress(blob[5:])
    if c == b'0':
        return blob[5:5 + ulen]
    return zlib.decompress(blob[4:])


def read_rds(path):
    with open(path, 'rb') as f:
        return Reader(decompress_blob(f.read())).header()


def lazyload_index(rdx_path):
    idx = read_rds(rdx_path)
    names = idx.attr('names')
    variables = idx.value[names.index('variables')]
    vn = variables.attr('names')
    return {n: tuple(int(x) for x in v.value) for n, v in zip(vn, variables.value)}


def lazyload_get(rdx_path, name):
    idx = lazyload_index(rdx_path)
    off, ln = idx[name]
    with open(rdx_path[:-4] + '.rdb', 'rb') as f:
        f.seek(off)
        blob = f.read(ln)
    return Reader(decompress_blob(blob)).header()


def dataframe_columns(df):
    """return (names, list of python lists) with factors decoded to labels"""
    names = df.attr('names')
    cols = []
    for c in df.value:
        levels = c.attr('levels')
        if levels is not None and c.type == INTSXP:
            cols.append([None if x is None else levels[x - 1] for x in c.value])
        else:
            cols.append(c.value)
    return names, cols
