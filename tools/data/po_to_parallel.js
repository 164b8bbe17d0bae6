// Turns German gettext catalogues (.po text, as msgunfmt writes them from the .mo files
// Debian packages ship) into an English-German parallel corpus. Used by fetch_en_de.sh.
//
//   node po_to_parallel.js LIST.tsv OUT_DIR
//
// LIST.tsv: "package<TAB>po file" per line, in a fixed order. Writes train.tsv,
// valid.tsv, test.tsv ("english<TAB>german" per line) and STATS.txt to OUT_DIR.
//
// Per entry: the header (empty msgid), fuzzy and untranslated entries are skipped;
// keyboard accelerators (_File, &File) are removed on both sides; newlines and tabs
// become spaces; entries with nothing but format specifiers, numbers and punctuation,
// entries the translator left in English, entries over MAX_CHARS and pairs of very
// different lengths are dropped; identical pairs are kept once. The split (1% valid,
// 1% test) is by an MD5 of the normalised English side, so an English sentence and all
// its translations always land in the same split: nothing of test or valid is in train.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const VALID_PERCENT = 1;
const TEST_PERCENT = 1;
const MAX_CHARS = 400;
const MAX_RATIO = 3;
// The length ratio says little about labels ("Up" / "Nach oben"): only tested when the
// longer side has at least this many characters.
const RATIO_MIN_CHARS = 12;

const ESCAPES = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '"': '"', '\\': '\\', "'": "'", '?': '?' };
// The contents of one quoted PO string, C escapes resolved.
function unquote(s) {
  const m = s.match(/^"(.*)"\s*$/);
  if (!m) throw new Error(`not a PO string: ${s}`);
  return m[1].replace(/\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)/g, (all, e) => {
    if (e[0] === 'x' && e.length > 1) return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return ESCAPES[e] ?? e;
  });
}

// Entries of a PO file: { msgctxt, msgid, msgid_plural, msgstr: [..], flags: [..] }.
function* parsePo(text) {
  let entry = null, field = null, flags = [];
  const finish = () => {
    const e = entry;
    entry = null; field = null;
    return e;
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') { if (entry) yield finish(); flags = []; continue; }
    if (line.startsWith('#~')) continue;  // obsolete entries
    if (line.startsWith('#,')) { flags.push(...line.slice(2).split(',').map((f) => f.trim())); continue; }
    if (line.startsWith('#')) continue;
    if (line.startsWith('"')) {
      if (!entry || !field) throw new Error(`string outside an entry: ${line}`);
      const value = unquote(line);
      if (Array.isArray(field)) entry.msgstr[field[1]] += value;
      else entry[field] += value;
      continue;
    }
    const m = line.match(/^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(".*")$/);
    if (!m) throw new Error(`unexpected PO line: ${line}`);
    const [, key, index, value] = m;
    // A new msgctxt or msgid after a msgstr starts the next entry (no blank line needed).
    if ((key === 'msgctxt' || key === 'msgid') && entry && entry.msgstr.length) yield finish();
    if (!entry) { entry = { msgctxt: null, msgid: null, msgid_plural: null, msgstr: [], flags }; flags = []; }
    if (key === 'msgstr') {
      const i = index === undefined ? 0 : Number(index);
      entry.msgstr[i] = unquote(value);
      field = ['msgstr', i];
    } else {
      entry[key] = unquote(value);
      field = key;
    }
  }
  if (entry) yield finish();
}

// printf (%s, %-10.3lf, %1$s, %<PRIu64>, %%), Python (%(name)s, {0}, {name!r:>10}),
// Qt/KDE (%1), shell-like ${var} and $var, and GTK/XML markup (<b>, </span>).
const FORMAT = new RegExp([
  /%(\d+\$)?[-+ #0']*(\*(\d+\$)?|\d+)?(\.(\*(\d+\$)?|\d+))?(hh|h|ll|l|L|q|j|z|Z|t|I64|I32|I)?[diouxXeEfFgGaAcCsSpnm%]/.source,
  /%<PRI[a-zA-Z0-9]+>/.source,
  /%\([^)]*\)[-+ #0]*\d*(\.\d+)?[diouxXeEfFgGcrsa]/.source,
  /\{[\w.]*(![rsa])?(:[^{}]*)?\}/.source,
  /%\d+/.source,
  /\$\{[^}]*\}|\$[A-Za-z_]\w*/.source,
  /<\/?[A-Za-z][^<>]*>/.source,
].join('|'), 'g');
// Has at least one letter once format specifiers and markup are gone.
function hasWords(s) {
  return /\p{L}/u.test(s.replace(FORMAT, ' '));
}

// Keyboard accelerators: GTK's "_File" / "Dat_ei", Qt/KDE's "&File" / "Dat&ei". A marker
// counts when it is followed by a letter or digit and is not "&&" (a literal "&"). At the
// start of a word ("_File", "Window _9") it is always a mnemonic. Inside a word, "_" is
// one only when that word does not appear unchanged on the other side (LC_MESSAGES is
// an identifier), and "&" only when a lower-case letter follows (C&ursor, not AT&T
// or Drag&Drop). Words with more than one marker (_open_osfhandle, __VA_OPT__) are
// identifiers. Each side loses its
// marker when it holds exactly one: translators add or drop mnemonics ("no filters" /
// "Keine _Filter"), and the pair must come out without any. Only labels hold
// mnemonics, hence the length limit.
const ACCEL_MAX_CHARS = 80;
function stripAccelerator(s, other) {
  if (s.length > ACCEL_MAX_CHARS) return s;
  const otherWords = new Set(other.split(/\s+/));
  let found = -1;
  for (const marker of ['_', '&']) {
    for (let i = s.indexOf(marker); i >= 0; i = s.indexOf(marker, i + 1)) {
      if (!/^[\p{L}\p{N}]/u.test(s.slice(i + 1)) || s[i - 1] === '&') continue;
      const before = s.slice(0, i).match(/\S*$/)[0], after = s.slice(i + 1).match(/^\S*/)[0];
      if ((before + after).includes(marker)) continue;
      if (marker === '_' && /[\p{L}\p{N}]$/u.test(before) && otherWords.has(before + marker + after)) continue;
      if (marker === '&' && /\p{L}$/u.test(before) && /^\p{Lu}/u.test(after)) continue;
      if (found >= 0) return s;  // two candidates: not a mnemonic
      found = i;
    }
  }
  return found < 0 ? s : s.slice(0, found) + s.slice(found + 1);
}
function stripAccelerators(en, de) {
  return [stripAccelerator(en, de), stripAccelerator(de, en)];
}

// Pango/HTML markup in GTK and Pidgin strings escapes &, < and >.
const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };
function clean(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e) => {
    if (e[0] !== '#') return ENTITIES[e.toLowerCase()] ?? m;
    const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return code > 0 && code < 0x110000 ? String.fromCodePoint(code) : m;
  }).normalize('NFC').replace(/[\s\u00a0]+/g, ' ').trim();
}

// Key of the split: lower case, single spaces, no punctuation at the ends ("Open...",
// "open:" and "Open" are one sentence).
function splitKey(en) {
  return en.toLowerCase().replace(/\s+/g, ' ').replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
}
function splitOf(en) {
  const v = crypto.createHash('md5').update(splitKey(en)).digest().readUInt32BE(0) % 100;
  return v < TEST_PERCENT ? 'test' : v < TEST_PERCENT + VALID_PERCENT ? 'valid' : 'train';
}

// The cleaned pair, or the reason it was dropped.
function toPair(entry) {
  if (!entry.msgid) return 'header';
  if (entry.flags.includes('fuzzy')) return 'fuzzy';
  // Plurals: German has two forms and msgstr[0] is the n == 1 form, which translates the
  // English singular msgid; msgid_plural / msgstr[1] would mostly repeat that pair with
  // a different count, so only the singular pair is kept.
  const target = entry.msgstr[0] ?? '';
  if (!target) return 'untranslated';
  let en = clean(entry.msgid), de = clean(target);
  [en, de] = stripAccelerators(en, de);
  if (!hasWords(en) || !hasWords(de)) return 'no words';
  if (en.toLowerCase() === de.toLowerCase()) return 'same';
  if (en.length > MAX_CHARS || de.length > MAX_CHARS) return 'long';
  const [short, long] = en.length < de.length ? [en.length, de.length] : [de.length, en.length];
  if (long >= RATIO_MIN_CHARS && long > MAX_RATIO * short) return 'ratio';
  return [en, de];
}

function main() {
  const [listPath, outDir] = process.argv.slice(2);
  if (!listPath || !outDir) { console.error('usage: node po_to_parallel.js LIST.tsv OUT_DIR'); process.exit(2); }
  const splits = ['train', 'valid', 'test'];
  const rows = Object.fromEntries(splits.map((s) => [s, []]));
  const seen = new Set();
  const dropped = {};
  for (const line of fs.readFileSync(listPath, 'utf8').split('\n').filter(Boolean)) {
    const [pkg, po] = line.split('\t');
    let kept = 0, entries = 0;
    for (const entry of parsePo(fs.readFileSync(po, 'utf8'))) {
      ++entries;
      const pair = toPair(entry);
      if (typeof pair === 'string') { dropped[pair] = (dropped[pair] || 0) + 1; continue; }
      const key = pair.join('\t');
      if (seen.has(key)) { dropped.duplicate = (dropped.duplicate || 0) + 1; continue; }
      seen.add(key);
      rows[splitOf(pair[0])].push(key + '\n');
      ++kept;
    }
    console.error(`${pkg} ${path.basename(po, '.po')}: ${entries} entries, ${kept} pairs`);
  }
  const stats = [];
  for (const s of splits) {
    fs.writeFileSync(path.join(outDir, `${s}.tsv`), rows[s].join(''));
    let enWords = 0, deWords = 0;
    for (const r of rows[s]) {
      const [en, de] = r.slice(0, -1).split('\t');
      enWords += en.split(' ').length;
      deWords += de.split(' ').length;
    }
    stats.push(`${s} ${rows[s].length} pairs (${enWords} English, ${deWords} German words)`);
  }
  const text = `en-de ${stats.join('; ')}\n` +
    `dropped: ${Object.entries(dropped).sort().map(([k, v]) => `${k} ${v}`).join(', ')}\n`;
  fs.writeFileSync(path.join(outDir, 'STATS.txt'), text);
  process.stderr.write(text);
}

if (require.main === module) main();
module.exports = { unquote, parsePo, toPair, stripAccelerators, hasWords, splitKey, splitOf };
