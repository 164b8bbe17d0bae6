// Reads `apt-cache dumpavail` on stdin; writes train.csv and test.csv with columns
// package,description,section for six sections, 700 packages each (the first 700 by
// a hash of the name, so the choice does not depend on the index's order).
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

const SECTIONS = ['games', 'libdevel', 'net', 'python', 'science', 'utils'];
const PER_SECTION = 700;
const outDir = process.argv[2];
const hash = (s) => crypto.createHash('md5').update(s).digest().readUInt32BE(0);

const bySection = Object.fromEntries(SECTIONS.map((s) => [s, new Map()]));
for (const record of fs.readFileSync(0, 'utf8').split(/\n\n+/)) {
  const name = (record.match(/^Package: (.+)$/m) || [])[1];
  const section = ((record.match(/^Section: (.+)$/m) || [])[1] || '').split('/').pop();
  const desc = record.match(/^Description(?:-en)?: (.*(?:\n .*)*)/m);
  if (!name || !desc || !(section in bySection)) continue;
  const text = desc[1].split('\n').map((l) => l.replace(/^ \.?$/, '').replace(/^ /, '')).join('\n').trim();
  bySection[section].set(name, text);
}
const field = (s) => '"' + s.replace(/"/g, '""') + '"';
const rows = { train: [], test: [] };
for (const section of SECTIONS) {
  const names = [...bySection[section].keys()].sort((a, b) => hash(a) - hash(b) || (a < b ? -1 : 1));
  for (const name of names.slice(0, PER_SECTION)) {
    const split = hash('split:' + name) % 5 === 0 ? 'test' : 'train';
    rows[split].push([name, bySection[section].get(name), section].map(field).join(','));
  }
}
fs.mkdirSync(outDir, { recursive: true });
for (const [split, lines] of Object.entries(rows)) {
  lines.sort((a, b) => hash(a) - hash(b));
  fs.writeFileSync(path.join(outDir, split + '.csv'), 'package,description,section\n' + lines.join('\n') + '\n');
}
console.log(`debian_sections: train ${rows.train.length}, test ${rows.test.length}`);
