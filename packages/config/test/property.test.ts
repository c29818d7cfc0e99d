import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ok } from '@relayd/common';
import fc from 'fast-check';
import {
  type ConfigDiagnostic,
  lexTorrc,
  OPTION_NAMES,
  parseConfig,
  TOR_OPTION_NAMES,
} from '../src/index.js';

/** Pieces torrc text is made of, so random files exercise the interesting paths. */
const torrcPiece = fc.oneof(
  fc.constantFrom(...OPTION_NAMES, ...TOR_OPTION_NAMES.slice(0, 40), '%include', '+ORPort', '/Log', 'ORPrt'),
  fc.constantFrom(
    ' ',
    '\t',
    '\n',
    '\r\n',
    '#',
    '"',
    '\\',
    '\\\n',
    '\\x',
    '\\0',
    ':',
    '[',
    ']',
    ',',
    '=',
    '\0',
    '\uFEFF',
  ),
  fc.constantFrom(
    '9001',
    'auto',
    '127.0.0.1:9001',
    '[::1]:9001',
    '1 GB',
    'notice stdout',
    'obfs4 exec /bin/x',
    '0',
    '1',
  ),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
);
const torrcText = fc.oneof(
  fc.array(torrcPiece, { maxLength: 60 }).map((p) => p.join('')),
  fc.string({ maxLength: 300 }),
);

/** Codes that always point at a line. */
const LINE_CODES = new Set([
  'syntax',
  'include',
  'unknown-option',
  'bad-value',
  'unsupported',
  'repeated-option',
  'empty-value',
  'unimplemented-option',
  'obsolete-option',
  'deprecated-name',
]);

function checkDiagnostic(d: ConfigDiagnostic, lineCount: number) {
  assert.ok(d.severity === 'error' || d.severity === 'warning');
  assert.equal(typeof d.message, 'string');
  assert.ok(d.message.length > 0);
  if (d.line !== null) {
    assert.ok(
      Number.isInteger(d.line) && d.line >= 1 && d.line <= lineCount,
      `line ${d.line} of ${lineCount}`,
    );
  } else {
    assert.ok(!LINE_CODES.has(d.code), `${d.code} without a line: ${d.message}`);
  }
}

describe('properties', () => {
  it('any text parses to a config or to errors with line numbers, and never throws', () => {
    fc.assert(
      fc.property(torrcText, fc.boolean(), (text, withIncludes) => {
        const r = parseConfig(text, {
          fileName: 'torrc',
          cpuCount: 2,
          ...(withIncludes ? { readInclude: () => ok([{ fileName: 'inc', text: 'Nickname Inc\n' }]) } : {}),
        });
        const lineCount = text.replace(/\r\n/g, '\n').split('\n').length;
        const all = r.ok ? r.value.warnings : [...r.error.errors, ...r.error.warnings];
        for (const d of all) checkDiagnostic(d, d.file === 'inc' ? 1 : lineCount);
        if (!r.ok) {
          assert.ok(r.error.errors.length > 0);
          assert.ok(r.error.errors.every((e) => e.severity === 'error'));
        } else {
          assert.ok(r.value.config.orPorts.length > 0);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('a quoted value written with C escapes reads back exactly', () => {
    const cEscape = (s: string) =>
      [...s]
        .map((c) => {
          const code = c.codePointAt(0)!;
          if (c === '\\' || c === '"') return `\\${c}`;
          if (c === '\n') return '\\n';
          if (c === '\t') return '\\t';
          if (code < 0x20 || code === 0x7f) return `\\x${code.toString(16).padStart(2, '0')}`;
          return c;
        })
        .join('');
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), (value) => {
        const { entries, diagnostics } = lexTorrc(`ContactInfo "${cEscape(value)}" # comment\n`, 't');
        assert.deepEqual(diagnostics, []);
        assert.equal(entries.length, 1);
        assert.equal(entries[0]!.value, value);
      }),
      { numRuns: 300 },
    );
  });

  it('splitting a value over continuation lines does not change it', () => {
    const word = fc.stringMatching(/^[A-Za-z0-9_./:=-]{1,8}$/);
    fc.assert(
      fc.property(
        fc.array(word, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        (words, cuts) => {
          const value = words.join(' ');
          // Cut anywhere but after the last character: there the next line would continue the value
          // (and, as in C tor, a backslash before an empty line stays in the value).
          const points = [...new Set(cuts.map((c) => c % value.length))].sort((a, b) => b - a);
          let written = value;
          for (const p of points) written = `${written.slice(0, p)}\\\n${written.slice(p)}`;
          const { entries, diagnostics } = lexTorrc(`Key ${written}\nNext 1\n`, 't');
          assert.deepEqual(diagnostics, []);
          assert.deepEqual(
            entries.map((e) => [e.key, e.value]),
            [
              ['Key', value],
              ['Next', '1'],
            ],
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('option keywords match whatever their case', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), (flips) => {
        const key = [...'Nickname'].map((c, i) => (flips[i] ? c.toUpperCase() : c.toLowerCase())).join('');
        const r = parseConfig(`ORPort 9001\nContactInfo x\n${key} Flipped\n`, { cpuCount: 1 });
        assert.ok(r.ok);
        assert.equal(r.value.config.nickname, 'Flipped');
      }),
      { numRuns: 50 },
    );
  });
});
