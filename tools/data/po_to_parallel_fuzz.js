// A seeded mutation fuzzer for the PO parser of po_to_parallel.js (docs/fuzzing.md says
// why it is not libFuzzer: Jazzer.js's prebuilt addon needs a newer glibc than Debian
// bookworm's). It has no coverage feedback: it mutates the seed catalogues with bit
// flips, PO-syntax tokens, deletions, duplications and splices, deterministically from
// a seed, and checks each input the way the converter uses the parser. A finding is any
// exception other than the parser's own one-line Error, or an input that takes over a
// second (a regular expression that backtracks without end).
//
//   node po_to_parallel_fuzz.js [--runs N] [--seed S] [--corpus DIR]... [--replay DIR]...
//
// --replay runs each file once (tests/fuzz/po/crashes); findings are written to
// $FUZZ_FINDINGS (default: the current directory) and make the exit status 1.
'use strict';
const fs = require('fs');
const path = require('path');
const { parsePo, toPair, splitOf } = require('./po_to_parallel.js');

const OWN_ERRORS = /^(not a PO string|string outside an entry|unexpected PO line): /;
const TOKENS = ['msgid ', 'msgstr ', 'msgctxt ', 'msgid_plural ', 'msgstr[0] ', 'msgstr[1] ', 'msgstr[9] ', '"', '""',
  '\\', '\\n', '\\t', '\\"', '\\x', '\\x4', '\\777', '\\u', '\n', '\n\n', '#, fuzzy\n', '#, c-format\n', '#~ ', '# ', '_',
  '&', '&&', '&amp;', '&#x110000;', '&#0;', '&#x41;', '%s', '%1$s', '%(name)s', '{0}', '${x}', '<b>', '</span>', '\t',
  '\r', '\u00e4', '\u0301', '\uffff', '\ud800', ' '.repeat(20), 'a'.repeat(40), '_'.repeat(30), '%'.repeat(30), '{'.repeat(30)];

// xorshift32: the same runs on every machine for a given seed.
function rng(seed) {
  let x = (seed >>> 0) || 1;
  return (n) => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x % n;
  };
}

function mutate(text, seeds, r) {
  let s = text;
  for (let k = 1 + r(4); k > 0; --k) {
    const at = r(s.length + 1);
    switch (r(6)) {
      case 0: s = s.slice(0, at) + TOKENS[r(TOKENS.length)] + s.slice(at); break;
      case 1: s = s.slice(0, at) + s.slice(at + 1 + r(16)); break;
      case 2: { const len = r(32); s = s.slice(0, at) + s.slice(at, at + len) + s.slice(at); break; }
      case 3: if (s.length) { const i = r(s.length); s = s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ (1 << r(7))) + s.slice(i + 1); } break;
      case 4: { const other = seeds[r(seeds.length)]; const from = r(other.length + 1); s = s.slice(0, at) + other.slice(from, from + r(200)) + s.slice(at); break; }
      default: s = s.slice(0, at) + String.fromCharCode(r(0x250)) + s.slice(at); break;
    }
  }
  return s.length > 20000 ? s.slice(0, 20000) : s;
}

// What the converter does with a catalogue; returns null or the finding.
function check(text) {
  const start = process.hrtime.bigint();
  try {
    for (const entry of parsePo(text)) {
      const pair = toPair(entry);
      if (Array.isArray(pair)) splitOf(pair[0]);
      else if (typeof pair !== 'string') return `toPair returned ${typeof pair}`;
    }
  } catch (e) {
    if (!(e instanceof Error) || e.constructor !== Error || !OWN_ERRORS.test(e.message) || e.message.includes('\n')) {
      return `${e && e.constructor && e.constructor.name}: ${e && e.message}`;
    }
  }
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  return ms > 1000 ? `slow: ${ms.toFixed(0)} ms` : null;
}

function main() {
  const args = process.argv.slice(2);
  let runs = 100000, seed = 1;
  const corpus = [], replay = [];
  for (let i = 0; i < args.length; i += 2) {
    if (args[i] === '--runs') runs = Number(args[i + 1]);
    else if (args[i] === '--seed') seed = Number(args[i + 1]);
    else if (args[i] === '--corpus') corpus.push(args[i + 1]);
    else if (args[i] === '--replay') replay.push(args[i + 1]);
    else { console.error(`unknown argument ${args[i]}`); process.exit(2); }
  }
  const files = (dirs) => dirs.flatMap((d) => fs.existsSync(d) ? fs.readdirSync(d).sort().map((f) => path.join(d, f)) : []);
  const findingsDir = process.env.FUZZ_FINDINGS || '.';
  let findings = 0;
  const report = (text, what) => {
    ++findings;
    const name = path.join(findingsDir, `po-finding-${findings}.po`);
    fs.writeFileSync(name, text);
    console.error(`finding: ${what.split('\n')[0]} (input: ${name})`);
  };
  for (const f of files(replay)) {
    const what = check(fs.readFileSync(f, 'utf8'));
    if (what) { ++findings; console.error(`${f}: ${what.split('\n')[0]}`); }
  }
  const seeds = files(corpus).map((f) => fs.readFileSync(f, 'utf8'));
  for (const s of seeds) { const what = check(s); if (what) report(s, what); }
  const r = rng(seed);
  const start = Date.now();
  for (let i = 0; seeds.length && i < runs && findings < 20; ++i) {
    const text = mutate(seeds[r(seeds.length)], seeds, r);
    const what = check(text);
    if (what) report(text, what);
  }
  const executed = (seeds.length ? runs : 0);
  console.log(`po fuzz: ${executed} runs (seed ${seed}) and ${files(replay).length} replays in ${((Date.now() - start) / 1000).toFixed(1)} s, ${findings} findings`);
  process.exit(findings ? 1 : 0);
}

main();
