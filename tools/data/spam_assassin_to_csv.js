// Converts the SpamAssassin corpus (one JSON file per raw RFC 822 message) into
// train/valid/test CSVs with columns text,label,log_bytes,text_parts,html. The text is what a reader sees:
// the Subject plus the decoded plain-text body (HTML reduced to text); transport
// headers are dropped so the classifier learns from content, not from relays.
// The split is by an MD5 of the cleaned text, so duplicates share a split and the
// result does not depend on file order.
// Three metadata columns describe the whole message rather than what the model reads
// (the first tokens of the text), for context-conditioned attention: log_bytes (log10 of
// the raw message size, headers and attachments included), text_parts (readable MIME
// parts) and html (1 when any of them is HTML).
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const [dataDir, outDir] = process.argv.slice(2);
const GROUPS = { 'easy-ham-1': 'ham', 'easy-ham-2': 'ham', 'hard-ham-1': 'ham', 'spam-1': 'spam', 'spam-2': 'spam' };
const MAX_CHARS = 4000;

function splitHeaders(raw) {
  const m = raw.match(/\r?\n\r?\n/);
  const head = m ? raw.slice(0, m.index) : raw;
  const body = m ? raw.slice(m.index + m[0].length) : '';
  const headers = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) {
      const k = line.slice(0, i).trim().toLowerCase();
      if (!(k in headers)) headers[k] = line.slice(i + 1).trim();
    }
  }
  return { headers, body };
}

function decodeQuotedPrintable(s) {
  const bytes = Buffer.from(s.replace(/=\r?\n/g, ''), 'latin1');
  const out = [];
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x3d && i + 2 < bytes.length) {
      const hex = bytes.toString('latin1', i + 1, i + 3);
      if (/^[0-9A-Fa-f]{2}$/.test(hex)) { out.push(parseInt(hex, 16)); i += 2; continue; }
    }
    out.push(bytes[i]);
  }
  return Buffer.from(out);
}

function decodeBody(body, headers) {
  const enc = (headers['content-transfer-encoding'] || '').toLowerCase();
  const charset = ((headers['content-type'] || '').match(/charset="?([^";\s]+)/i) || [])[1] || 'latin1';
  let bytes;
  if (enc.includes('base64')) bytes = Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  else if (enc.includes('quoted-printable')) bytes = decodeQuotedPrintable(body);
  else bytes = Buffer.from(body, 'latin1');
  return /utf-?8/i.test(charset) ? bytes.toString('utf8') : bytes.toString('latin1');
}

function htmlToText(html) {
  return html
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<br\s*\/?>|<\/p>|<\/div>|<\/tr>/gi, '\n')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/gi, ' ').replace(/&amp;/gi, '&').replace(/&lt;/gi, '<')
    .replace(/&gt;/gi, '>').replace(/&quot;/gi, '"').replace(/&#(\d+);/g, (_, n) => String.fromCharCode(+n));
}

// Returns the readable text parts of a (possibly multipart) entity.
function textParts(headers, body, depth) {
  const type = (headers['content-type'] || 'text/plain').toLowerCase();
  const boundary = (headers['content-type'] || '').match(/boundary="?([^";]+)"?/i);
  if (type.startsWith('multipart/') && boundary && depth < 5) {
    const parts = body.split('--' + boundary[1]).slice(1);
    const texts = [];
    for (const p of parts) {
      if (p.startsWith('--')) break;
      const sub = splitHeaders(p.replace(/^\r?\n/, ''));
      texts.push(...textParts(sub.headers, sub.body, depth + 1));
    }
    // multipart/alternative: prefer the plain version when there is one.
    if (type.startsWith('multipart/alternative')) {
      const plain = texts.filter((t) => !t.html);
      return plain.length ? plain : texts;
    }
    return texts;
  }
  if (type.startsWith('text/html')) return [{ html: true, text: htmlToText(decodeBody(body, headers)) }];
  if (type.startsWith('text/') || !headers['content-type']) return [{ html: false, text: decodeBody(body, headers) }];
  return [];
}

function clean(text) {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ' ').replace(/[ \t]+/g, ' ')
    .replace(/\s*\n\s*/g, '\n').replace(/\n{2,}/g, '\n').trim();
}

function csvField(s) { return '"' + s.replace(/"/g, '""') + '"'; }

const rows = { train: [], valid: [], test: [] };
const seen = new Set();
let total = 0, duplicates = 0;
for (const group of Object.keys(GROUPS).sort()) {
  const dir = path.join(dataDir, group);
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const msg = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    const { headers, body } = splitHeaders(msg.text);
    const subject = clean(headers['subject'] || '');
    const parts = textParts(headers, body, 0);
    let text = clean('Subject: ' + subject + '\n' + parts.map((t) => t.text).join('\n'));
    const meta = [Math.log10(Buffer.byteLength(msg.text, 'latin1')).toFixed(4), parts.length,
      parts.some((t) => t.html) ? 1 : 0];
    if (text.length > MAX_CHARS) text = text.slice(0, MAX_CHARS);
    total++;
    const digest = crypto.createHash('md5').update(text).digest();
    if (seen.has(digest.toString('hex'))) { duplicates++; continue; }
    seen.add(digest.toString('hex'));
    const bucket = digest.readUInt32BE(0) % 10;
    const split = bucket < 8 ? 'train' : bucket === 8 ? 'valid' : 'test';
    rows[split].push(csvField(text) + ',' + GROUPS[group] + ',' + meta.join(','));
  }
}
fs.mkdirSync(outDir, { recursive: true });
for (const [split, lines] of Object.entries(rows)) {
  fs.writeFileSync(path.join(outDir, split + '.csv'), 'text,label,log_bytes,text_parts,html\n' + lines.join('\n') + '\n');
}
console.log(`spam_assassin: ${total} messages, ${duplicates} duplicates dropped, ` +
  Object.entries(rows).map(([k, v]) => `${k} ${v.length}`).join(', '));
