// Checks of po_to_parallel.js on a hand-written catalogue: node tools/data/po_to_parallel_test.js
'use strict';
const assert = require('assert');
const { parsePo, toPair, splitOf, splitKey } = require('./po_to_parallel.js');

const po = String.raw`# header
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"

msgid "Usage: %s [OPTION]...\n"
"  -h, --help\tshow \"this\" help\\n"
msgstr "Aufruf: %s [OPTION]...\n"
"  -h, --help\tdiese »Hilfe« anzeigen\\n"

#, fuzzy
msgid "Fuzzy entry"
msgstr "Unscharfer Eintrag"

msgctxt "menu"
msgid "_File"
msgstr "_Datei"
msgid "C&ursor after block"
msgstr "C&ursor nach Block"
msgid "no filters"
msgstr "Keine _Filter"
msgid "set LC_MESSAGES for AT&T"
msgstr "LC_MESSAGES für AT&T setzen"

msgid "%d file"
msgid_plural "%d files"
msgstr[0] "%d Datei"
msgstr[1] "%d Dateien"

msgid "%s: %s (%d%%)"
msgstr "%s: %s (%d%%)"

msgid "{name}: %(count)d <b>%1$s</b>"
msgstr "{name} – %(count)d <b>%1$s</b>"

msgid "Name"
msgstr "Name"

msgid "Up"
msgstr "Nach oben"

msgid "Remove the selected files from the list"
msgstr "Entfernen"

msgid "Search &amp; Replace"
msgstr "Suchen &amp; Ersetzen"

msgid "Untranslated"
msgstr ""
`;

const entries = [...parsePo(po)];
assert.strictEqual(entries.length, 15);
assert.strictEqual(entries[1].msgid, 'Usage: %s [OPTION]...\n  -h, --help\tshow "this" help\\n');
assert.strictEqual(entries[3].msgctxt, 'menu');
assert.strictEqual(entries[7].msgid_plural, '%d files');
const pairs = entries.map(toPair);
assert.deepStrictEqual(pairs, [
  'header',
  ['Usage: %s [OPTION]... -h, --help show "this" help\\n', 'Aufruf: %s [OPTION]... -h, --help diese »Hilfe« anzeigen\\n'],
  'fuzzy',
  ['File', 'Datei'],
  ['Cursor after block', 'Cursor nach Block'],
  ['no filters', 'Keine Filter'],
  ['set LC_MESSAGES for AT&T', 'LC_MESSAGES für AT&T setzen'],
  ['%d file', '%d Datei'],   // plural: singular msgid with msgstr[0]
  'no words',
  'no words',
  'same',
  ['Up', 'Nach oben'],       // short: no ratio test
  'ratio',
  ['Search & Replace', 'Suchen & Ersetzen'],
  'untranslated',
]);
assert.strictEqual(splitKey('  Open File...'), 'open file');
assert.strictEqual(splitOf('Open File...'), splitOf('open file:'));
console.log('po_to_parallel: all checks passed');
