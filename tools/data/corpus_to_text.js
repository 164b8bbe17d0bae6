// Turns unpacked Debian documentation packages and the SpamAssassin training ham into
// train.txt / valid.txt: one English paragraph per line. Used by fetch_corpus.sh.
//
//   node corpus_to_text.js RULES.tsv SPAM_TRAIN.csv OUT_DIR
//
// RULES.tsv: "package_root<TAB>path regex" per line; files under the root whose path
// matches are read. HTML, roff man pages, POD and plain text (gzip or dictzip
// compressed or not) are reduced to paragraphs; code (<pre>, .nf/.EX blocks, POD
// verbatim) is skipped outright, and every paragraph must then pass simple tests for
// English prose. The split (2% valid) is by an MD5 of the normalised paragraph, so it
// does not depend on file order and duplicates always land on the same side.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const crypto = require('crypto');

const [rulesPath, spamCsv, outDir] = process.argv.slice(2);
const VALID_PERCENT = 2;
const MIN_WORDS = 8;
const MAX_CHARS = 20000;

function readText(file) {
  let buf = fs.readFileSync(file);
  // dictzip (.dz) is gzip with an extra header field, which gunzip skips.
  if (buf.length > 2 && buf[0] === 0x1f && buf[1] === 0x8b) buf = zlib.gunzipSync(buf);
  return buf.toString('utf8');
}

function* walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;  // symlinks would only repeat files
  }
}

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', mdash: '-', ndash: '-',
  rsquo: "'", lsquo: "'", rdquo: '"', ldquo: '"', hellip: '...', copy: '(c)', reg: '(R)', trade: '(TM)',
  laquo: '"', raquo: '"', middot: '.', bull: '*', times: 'x' };
function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ' ';
    }
    return ENTITIES[e.toLowerCase()] ?? ' ';
  });
}

const BLOCK = /<\/?(p|div|br|li|ul|ol|dl|dt|dd|h[1-6]|tr|td|th|table|thead|tbody|blockquote|section|article|aside|nav|header|footer|title|hr|caption|figure|figcaption|form|center)\b[^>]*>/gi;
function htmlToText(s) {
  return decodeEntities(s
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(script|style|pre|head|svg|math|noscript)\b[\s\S]*?<\/\1\s*>/gi, '\n\n')
    .replace(BLOCK, '\n\n')
    .replace(/<[^>]*>/g, ''));
}

// roff: prose lines and the text of font macros; no-fill and example blocks are code.
const ROFF_CHARS = { em: '-', en: '-', aq: "'", dq: '"', lq: '"', rq: '"', oq: "'", cq: "'", bu: '*', mi: '-', hy: '-', ti: '~', co: '(c)' };
function roffInline(s) {
  return s
    .replace(/\\f(\[[^\]]*\]|\(..|.)/g, '')
    .replace(/\\\((..)/g, (m, c) => ROFF_CHARS[c] ?? ' ')
    .replace(/\\\[([^\]]*)\]/g, (m, c) => ROFF_CHARS[c] ?? ' ')
    .replace(/\\\*(\[[^\]]*\]|\(..|.)/g, '')
    .replace(/\\s[+-]?\d/g, '')
    .replace(/\\[-e]/g, (m) => (m === '\\-' ? '-' : '\\'))
    .replace(/\\[&|^%:c)]/g, '')
    .replace(/\\ /g, ' ');
}
function roffToText(s) {
  const out = [];
  let skipping = false;
  for (const line of s.split('\n')) {
    if (/^\.\s*(nf|EX)\b/.test(line)) { skipping = true; out.push(''); continue; }
    if (/^\.\s*(fi|EE)\b/.test(line)) { skipping = false; continue; }
    if (skipping) continue;
    if (line.startsWith('.\\"') || line.startsWith("'\\\"") || line.startsWith('\\"')) continue;
    const m = line.match(/^[.'](\S+)\s*(.*)$/);
    if (!m) { out.push(roffInline(line)); continue; }
    const [, macro, args] = m;
    if (/^(B|I|BR|IR|BI|RB|IB|RI|SM|SB|UR|MT)$/.test(macro)) {
      const words = args.match(/"[^"]*"|\S+/g) || [];
      const joined = words.map((w) => w.replace(/^"|"$/g, ''));
      // Alternating-font macros join their arguments without spaces (".BR ls (1)").
      out.push(roffInline(macro.length === 2 && macro !== 'SM' && macro !== 'SB' && macro !== 'UR' && macro !== 'MT'
        ? joined.join('') : joined.join(' ')));
    } else {
      out.push('');  // headings, paragraphs, indents, tables: all break the paragraph
    }
  }
  return out.join('\n');
}

function podInline(s) {
  let prev;
  do {
    prev = s;
    s = s.replace(/E<([^<>]*)>/g, (m, e) => ({ lt: '<', gt: '>', verbar: '|', sol: '/' }[e] ?? ' '))
      .replace(/L<(?:([^<>|]*)\|)?([^<>]*)>/g, (m, text, link) => text || link.replace(/^.*\//, '').replace(/"/g, ''))
      .replace(/[BICFSXZ]<<+\s+([\s\S]*?)\s+>>+/g, '$1')
      .replace(/[BICFSXZ]<([^<>]*)>/g, '$1');
  } while (s !== prev);
  return s;
}
function podToText(s) {
  const out = [];
  let inBegin = false;
  for (const line of s.split('\n')) {
    if (/^=begin\b/.test(line)) { inBegin = true; continue; }
    if (/^=end\b/.test(line)) { inBegin = false; continue; }
    if (inBegin) continue;
    if (line.startsWith('=') || /^[ \t]/.test(line)) { out.push(''); continue; }  // commands, verbatim code
    out.push(podInline(line));
  }
  return out.join('\n');
}

// Plain text: paragraphs are runs of non-blank lines. Fortune separators, rST
// underlines and literal blocks (after "::") break them; vim help tags lose their marks.
function plainToText(s) {
  const out = [];
  let literal = false;
  for (let line of s.split('\n')) {
    if (literal) {
      if (line.trim() === '' || /^\s/.test(line)) { out.push(''); continue; }
      literal = false;
    }
    if (/^%+\s*$/.test(line) || /^\s*([=\-~^"*#+`])\1{3,}\s*$/.test(line)) { out.push(''); continue; }
    if (/^\.\. /.test(line)) { out.push(''); continue; }
    line = line.replace(/\*[^*\s]+\*/g, ' ').replace(/\|([^|\s]+)\|/g, '$1').replace(/``([^`]*)``/g, '$1');
    out.push(line);
    if (/::\s*$/.test(line)) { literal = true; out.push(''); }
  }
  return out.join('\n');
}

const STOPWORDS = new Set(('the of and to a in is that for it as with be on not this are by or an can you from ' +
  'which if at will when have has was were its it\'s their there these they may should must use used each all ' +
  'but more than other only also into one such any so no how what some been would this then do does').split(' '));
const WORD = /^[("'[]?[A-Za-z]+(['-][A-Za-z]+)*[)"'\],.;:!?]*$/;
const TYPOGRAPHY = { '\u2018': "'", '\u2019': "'", '\u201c': '"', '\u201d': '"', '\u2013': '-', '\u2014': '-',
  '\u2026': '...', '\u00a0': ' ', '\u00b6': ' ' };

function normalise(p) {
  return p.replace(/[\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u00a0\u00b6]/g, (c) => TYPOGRAPHY[c])
    .replace(/\s+/g, ' ').trim();
}

// English prose, not code, tables or another language.
function isProse(p) {
  if (p.length > MAX_CHARS) return false;
  const words = p.split(' ');
  if (words.length < MIN_WORDS) return false;
  let nonAscii = 0, symbols = 0;
  for (let i = 0; i < p.length; ++i) {
    const c = p.charCodeAt(i);
    if (c > 0x7e) ++nonAscii;
    else if ('{}<>=;$#\\|_~^*@'.includes(p[i])) ++symbols;
  }
  if (nonAscii > 0.01 * p.length || symbols > 0.03 * p.length) return false;
  let wordLike = 0, stop = 0;
  for (const w of words) {
    if (WORD.test(w)) ++wordLike;
    if (STOPWORDS.has(w.toLowerCase().replace(/[^a-z']/g, ''))) ++stop;
  }
  return wordLike >= 0.75 * words.length && stop >= 0.15 * words.length;
}

const seen = new Set();
const outputs = {
  train: fs.openSync(path.join(outDir, 'train.txt'), 'w'),
  valid: fs.openSync(path.join(outDir, 'valid.txt'), 'w'),
};
const buffers = { train: [], valid: [] };
function flush(split) {
  if (buffers[split].length) fs.writeSync(outputs[split], buffers[split].join(''));
  buffers[split] = [];
}
// Returns true when the paragraph was new and written.
function emit(p) {
  const digest = crypto.createHash('md5').update(p.toLowerCase()).digest();
  const key = digest.toString('base64');
  if (seen.has(key)) return false;
  seen.add(key);
  const split = digest.readUInt32BE(0) % 100 < VALID_PERCENT ? 'valid' : 'train';
  buffers[split].push(p + '\n');
  if (buffers[split].length >= 4096) flush(split);
  return true;
}

function convert(file, text) {
  const name = file.replace(/\.(gz|dz)$/, '');
  if (/\/man\/man\d[^/]*\//.test(file)) return roffToText(text);
  if (/\.x?html?(\.en)?$/i.test(name)) return htmlToText(text);
  if (/\.pod$/.test(name)) return podToText(text);
  return plainToText(text);
}

for (const rule of fs.readFileSync(rulesPath, 'utf8').split('\n').filter(Boolean)) {
  const [root, pattern] = rule.split('\t');
  const re = new RegExp(pattern);
  let files = 0, kept = 0;
  for (const file of walk(root)) {
    const rel = file.slice(root.length);
    if (!re.test(rel) || /changelog|copyright/i.test(rel)) continue;
    ++files;
    for (const raw of convert(rel, readText(file)).split(/\n\s*\n/)) {
      const p = normalise(raw);
      if (isProse(p) && emit(p)) ++kept;
    }
  }
  console.error(`${path.basename(root)}: ${files} files, ${kept} paragraphs`);
}

// RFC 4180 CSV (quoted fields may hold newlines and doubled quotes).
function* csvRows(s) {
  let row = [], field = '', i = 0, quoted = false;
  while (i < s.length) {
    const c = s[i];
    if (quoted) {
      if (c === '"') {
        if (s[i + 1] === '"') { field += '"'; i += 2; continue; }
        quoted = false; ++i; continue;
      }
      field += c; ++i; continue;
    }
    if (c === '"') { quoted = true; ++i; continue; }
    if (c === ',') { row.push(field); field = ''; ++i; continue; }
    if (c === '\n' || c === '\r') {
      if (c === '\r' && s[i + 1] === '\n') ++i;
      row.push(field); yield row; row = []; field = ''; ++i; continue;
    }
    field += c; ++i;
  }
  if (field !== '' || row.length) { row.push(field); yield row; }
}

// Ham messages are in-domain text for the spam task: kept whole (one message a line),
// without the prose test, but without headers, quoted replies and symbol-heavy lines.
let ham = 0, hamKept = 0, header = null;
for (const row of csvRows(fs.readFileSync(spamCsv, 'utf8'))) {
  if (!header) { header = row; continue; }
  const rec = Object.fromEntries(header.map((h, j) => [h, row[j] ?? '']));
  if (rec.label !== 'ham') continue;
  ++ham;
  const lines = rec.text.split('\n').filter((l) => {
    if (/^(Date|From|To|Cc|Message-ID|Reply-To|In-Reply-To|References):/i.test(l)) return false;
    if (/^\s*(>|\|)/.test(l) || !/[A-Za-z]{2}/.test(l)) return false;
    const symbols = (l.match(/[{}<>=;$#\\|_~^*@\/]/g) || []).length;
    return symbols <= 0.1 * l.length;
  }).map((l) => l.replace(/^Subject:\s*/i, ''));
  const p = normalise(lines.join(' '));
  if (p.split(' ').length >= MIN_WORDS && p.length <= MAX_CHARS && emit(p)) ++hamKept;
}
console.error(`spam_assassin train ham: ${ham} messages, ${hamKept} kept`);
flush('train');
flush('valid');
fs.closeSync(outputs.train);
fs.closeSync(outputs.valid);
