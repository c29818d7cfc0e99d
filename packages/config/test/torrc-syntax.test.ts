import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lexTorrc } from '../src/index.js';

/** [key, value] pairs of a lexed text, asserting it had no syntax errors. */
function pairs(text: string): [string, string][] {
  const { entries, diagnostics } = lexTorrc(text, 'torrc');
  assert.deepEqual(diagnostics, []);
  return entries.map((e) => [e.key, e.value]);
}

describe('torrc syntax: the examples of tor doc/torrc_format.txt', () => {
  it('a simple entry, spaces inside the value, trailing space trimmed', () => {
    assert.deepEqual(pairs('Foo Bar\nFoo    Bar    Baz\nFoo    Bar    Baz    \n'), [
      ['Foo', 'Bar'],
      ['Foo', 'Bar    Baz'],
      ['Foo', 'Bar    Baz'],
    ]);
  });

  it('an escaped newline between key and value', () => {
    assert.deepEqual(pairs('Hello\\\nWorld\n'), [['Hello', 'World']]);
  });

  it('comments after a value, with or without a space', () => {
    assert.deepEqual(pairs('Hello World   #today\nHello World#tomorrow\n'), [
      ['Hello', 'World'],
      ['Hello', 'World'],
    ]);
  });

  it('quoted values with C escapes', () => {
    assert.deepEqual(pairs('Hello "World!"\nHello "\\"World\\"\\nand\\nuniverse"\n'), [
      ['Hello', 'World!'],
      ['Hello', '"World"\nand\nuniverse'],
    ]);
  });

  it('multi-line entries drop the backslash-newline pairs', () => {
    assert.deepEqual(pairs('Hello\\\nWorld\\\nand\\\nfriends\n'), [['Hello', 'Worldandfriends']]);
  });

  it('backslashes elsewhere are kept as they are', () => {
    assert.deepEqual(pairs('Too \\\nMany\\\\\\\nBacksl\\ashes \\\\\nhere\n'), [
      ['Too', 'Many\\\\Backsl\\ashes \\here'],
    ]);
  });

  it('comment lines inside a continued value are dropped, with or without a trailing backslash', () => {
    const expected: [string, string][] = [['This', 'entry        and some        are  silly']];
    assert.deepEqual(
      pairs('This entry      \\\n # has comments \\\n and some       \\\n are # generally \\\n silly\n'),
      expected,
    );
    assert.deepEqual(
      pairs('This entry      \\\n # has comments\n and some       \\\n are # generally\n silly\n'),
      expected,
    );
  });
});

describe('torrc syntax: more', () => {
  it('reports the line on which each keyword stands', () => {
    // As in C tor, the indentation of a continuation line is part of the value.
    const { entries } = lexTorrc('# header\n\nORPort 9001\n  Nickname \\\n  bridge1\nLog notice stdout', 'f');
    assert.deepEqual(
      entries.map((e) => [e.key, e.value, e.line, e.file]),
      [
        ['ORPort', '9001', 3, 'f'],
        ['Nickname', '  bridge1', 4, 'f'],
        ['Log', 'notice stdout', 6, 'f'],
      ],
    );
  });

  it('a key with no value has an empty value', () => {
    assert.deepEqual(pairs('ContactInfo\nNickname   # nothing\n'), [
      ['ContactInfo', ''],
      ['Nickname', ''],
    ]);
  });

  it('+ and / prefixes', () => {
    const { entries } = lexTorrc('+ORPort 9001\n/ORPort ignored value\nORPort 9002\n', 'f');
    assert.deepEqual(
      entries.map((e) => [e.prefix, e.key, e.value]),
      [
        ['append', 'ORPort', '9001'],
        ['clear', 'ORPort', ''],
        ['none', 'ORPort', '9002'],
      ],
    );
  });

  it('windows line ends, tabs and a byte-order mark', () => {
    assert.deepEqual(pairs('\uFEFFORPort\t9001\r\nNickname x \\\r\ny\r\n'), [
      ['ORPort', '9001'],
      ['Nickname', 'x y'],
    ]);
  });

  it('hex and octal escapes decode to UTF-8', () => {
    assert.deepEqual(pairs('A "\\xc3\\xa9t\\303\\251 \\101\\t\\?\\\'"\n'), [['A', "été A\t?'"]]);
    assert.deepEqual(pairs('A "caf\u00e9 # not a comment" # a comment\n'), [
      ['A', 'caf\u00e9 # not a comment'],
    ]);
  });

  it('quoted-string errors are reported with their line and the rest of the file still read', () => {
    const text = [
      'A "unterminated', // 1
      'B "bad \\q escape"', // 2
      'C "\\x4"', // 3
      'D "\\777"', // 4
      'E "ok" trailing', // 5
      'F "\\xff"', // 6
      'G fine', // 7
    ].join('\n');
    const { entries, diagnostics } = lexTorrc(text, 'f');
    assert.deepEqual(
      entries.map((e) => [e.key, e.value]),
      [['G', 'fine']],
    );
    assert.deepEqual(
      diagnostics.map((d) => [d.line, d.code, d.severity]),
      [1, 2, 3, 4, 5, 6].map((l) => [l, 'syntax', 'error']),
    );
    assert.match(diagnostics[0]!.message, /Unterminated/);
    assert.match(diagnostics[1]!.message, /\\q/);
    assert.match(diagnostics[3]!.message, /\\377/);
    assert.match(diagnostics[4]!.message, /Excess data/);
    assert.match(diagnostics[5]!.message, /UTF-8/);
  });

  it('a NUL byte ends the file, as in C tor, with an error', () => {
    const { entries, diagnostics } = lexTorrc('A 1\nB 2\0C 3\n', 'f');
    assert.deepEqual(
      entries.map((e) => [e.key, e.value]),
      [
        ['A', '1'],
        ['B', '2'],
      ],
    );
    assert.equal(diagnostics.length, 1);
    assert.equal(diagnostics[0]!.line, 2);
  });

  it('keywords keep their case and may contain punctuation', () => {
    assert.deepEqual(pairs('oRpOrT 1\n%include /x\n__ControlPort 0\n'), [
      ['oRpOrT', '1'],
      ['%include', '/x'],
      ['__ControlPort', '0'],
    ]);
  });
});
