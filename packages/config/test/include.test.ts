import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { err, ok } from '@relayd/common';
import {
  fileIncludeReader,
  type IncludeReader,
  loadConfigFile,
  MAX_INCLUDE_DEPTH,
  parseConfig,
  readTorrcEntries,
} from '../src/index.js';

/** An include reader over an in-memory set of files (no wildcards). */
function memoryReader(files: Record<string, string>): IncludeReader {
  return (pattern) => {
    const text = files[pattern];
    return text === undefined
      ? err(`no such file or directory: ${pattern}`)
      : ok([{ fileName: pattern, text }]);
  };
}

const entriesOf = (text: string, files: Record<string, string>) =>
  readTorrcEntries(text, { fileName: 'torrc', readInclude: memoryReader(files) });

describe('%include over an injected reader', () => {
  it('splices included entries in place, with their own file and line', () => {
    const read = entriesOf('A 1\n%include inc\nB 2\n', {
      inc: '\n\nX 1\n%include deeper\nY 2\n',
      deeper: 'Z 3\n',
    });
    assert.deepEqual(read.diagnostics, []);
    assert.deepEqual(
      read.entries.map((e) => `${e.file}:${e.line} ${e.key}`),
      ['torrc:1 A', 'inc:3 X', 'deeper:1 Z', 'inc:5 Y', 'torrc:3 B'],
    );
    assert.deepEqual(read.files, ['torrc', 'inc', 'deeper']);
  });

  it('a missing include is an error at the %include line, and the rest still loads', () => {
    const read = entriesOf('A 1\n%include nothere\nB 2\n', {});
    assert.deepEqual(
      read.entries.map((e) => e.key),
      ['A', 'B'],
    );
    assert.equal(read.diagnostics.length, 1);
    assert.deepEqual(
      { ...read.diagnostics[0], message: undefined },
      { severity: 'error', code: 'include', file: 'torrc', line: 2, option: '%include', message: undefined },
    );
    assert.match(read.diagnostics[0]!.message, /nothere/);
  });

  it('an include loop is reported with its chain, once', () => {
    const read = entriesOf('%include a\n', { a: 'A 1\n%include b\n', b: 'B 1\n%include a\n' });
    assert.deepEqual(
      read.entries.map((e) => e.key),
      ['A', 'B'],
    );
    assert.equal(read.diagnostics.length, 1);
    assert.equal(read.diagnostics[0]!.file, 'b');
    assert.equal(read.diagnostics[0]!.line, 2);
    assert.match(read.diagnostics[0]!.message, /loop: torrc -> a -> b -> a/);
  });

  it('a file including itself is a loop', () => {
    const read = readTorrcEntries('%include torrc\n', {
      fileName: 'torrc',
      readInclude: () => ok([{ fileName: 'torrc', text: '%include torrc\n' }]),
    });
    assert.equal(read.diagnostics.length, 1);
    assert.match(read.diagnostics[0]!.message, /loop: torrc -> torrc/);
  });

  it('nesting deeper than tor allows is an error', () => {
    // f0 includes f1 includes f2 … each a different file, never a loop.
    const reader: IncludeReader = (pattern) => {
      const n = Number(pattern.slice(1));
      return ok([{ fileName: pattern, text: `K${n} 1\n%include f${n + 1}\n` }]);
    };
    const read = readTorrcEntries('%include f1\n', { fileName: 'f0', readInclude: reader });
    assert.equal(read.entries.length, MAX_INCLUDE_DEPTH - 1);
    assert.equal(read.diagnostics.length, 1);
    assert.match(read.diagnostics[0]!.message, /more than 31 nested/);
  });

  it('without a reader, %include is an error; an empty %include too', () => {
    const read = readTorrcEntries('%include x\n%include\n', { fileName: 'torrc' });
    assert.deepEqual(
      read.diagnostics.map((d) => d.line),
      [1, 2],
    );
  });

  it('the keyword is case-sensitive: %Include is an unknown option with a suggestion', () => {
    const r = parseConfig('%Include /x\nORPort 9001\n', { cpuCount: 1 });
    assert.ok(!r.ok);
    assert.equal(r.error.errors[0]!.code, 'unknown-option');
    assert.match(r.error.errors[0]!.message, /Did you mean '%include'/);
  });
});

describe('%include on the file system', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'relayd-config-'));
    mkdirSync(join(dir, 'torrc.d'));
    writeFileSync(
      join(dir, 'torrc.d', '20-transport.conf'),
      'ServerTransportPlugin obfs4 exec /usr/bin/obfs4proxy\n',
    );
    writeFileSync(join(dir, 'torrc.d', '10-ports.conf'), 'ORPort 9001\nExtORPort auto\n');
    writeFileSync(join(dir, 'torrc.d', '.hidden.conf'), 'Nickname Hidden\n');
    writeFileSync(join(dir, 'torrc.d', '30-empty.conf'), '');
    mkdirSync(join(dir, 'torrc.d', 'sub'));
    writeFileSync(join(dir, 'torrc.d', 'sub', 'x.conf'), 'Nickname Sub\n');
    mkdirSync(join(dir, 'glob'));
    writeFileSync(join(dir, 'glob', 'b.conf'), 'Nickname GlobB\n');
    writeFileSync(join(dir, 'glob', 'a.conf'), 'Nickname GlobA\n');
    writeFileSync(join(dir, 'glob', 'a.txt'), 'Nickname NotMatched\n');
    writeFileSync(join(dir, 'glob', '.c.conf'), 'Nickname Dot\n');
    writeFileSync(join(dir, 'loop-a'), '%include loop-b\n');
    writeFileSync(join(dir, 'loop-b'), `%include ${join(dir, 'torrc-loop')}\n`);
    writeFileSync(join(dir, 'torrc-loop'), 'ORPort 9001\n%include loop-a\n');
    symlinkSync(join(dir, 'glob', 'a.conf'), join(dir, 'link.conf'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const keysOf = (path: string) => {
    const text = `%include ${path}\n`;
    const read = readTorrcEntries(text, {
      fileName: join(dir, 'torrc'),
      readInclude: fileIncludeReader(),
    });
    return {
      keys: read.entries.map((e) => `${e.key} ${e.value}`),
      diagnostics: read.diagnostics,
      files: read.files,
    };
  };

  it('a directory contributes its regular, non-empty, non-dot files in sorted order', () => {
    const { keys, diagnostics, files } = keysOf(join(dir, 'torrc.d'));
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(keys, [
      'ORPort 9001',
      'ExtORPort auto',
      'ServerTransportPlugin obfs4 exec /usr/bin/obfs4proxy',
    ]);
    assert.deepEqual(files.slice(1), [
      join(dir, 'torrc.d', '10-ports.conf'),
      join(dir, 'torrc.d', '20-transport.conf'),
    ]);
  });

  it('wildcards match in sorted order and skip dot-files; an explicit dot matches them', () => {
    assert.deepEqual(keysOf(join(dir, 'glob', '*.conf')).keys, ['Nickname GlobA', 'Nickname GlobB']);
    assert.deepEqual(keysOf(join(dir, 'glob', '?.conf')).keys, ['Nickname GlobA', 'Nickname GlobB']);
    assert.deepEqual(keysOf(join(dir, 'glob', '.*.conf')).keys, ['Nickname Dot']);
    assert.deepEqual(keysOf(join(dir, 'g*', 'a.*')).keys, ['Nickname GlobA', 'Nickname NotMatched']);
  });

  it('a wildcard matching nothing is fine; a missing plain path is an error', () => {
    const none = keysOf(join(dir, 'glob', '*.nothing'));
    assert.deepEqual(none.keys, []);
    assert.deepEqual(none.diagnostics, []);
    const missing = keysOf(join(dir, 'missing.conf'));
    assert.equal(missing.diagnostics.length, 1);
    assert.match(missing.diagnostics[0]!.message, /no such file or directory/);
  });

  it('relative paths are taken from the including file’s directory; symlinks are followed', () => {
    assert.deepEqual(keysOf('glob/b.conf').keys, ['Nickname GlobB']);
    assert.deepEqual(keysOf('link.conf').keys, ['Nickname GlobA']);
  });

  it('loadConfigFile follows includes and names the top file as given', () => {
    const top = join(dir, 'torrc');
    writeFileSync(top, `%include torrc.d\nContactInfo ops@example.org\nNickname Top\n`);
    const r = loadConfigFile(top, { cpuCount: 2 });
    assert.ok(r.ok, JSON.stringify(!r.ok && r.error));
    assert.deepEqual(
      r.value.config.orPorts.map((p) => p.port),
      [9001],
    );
    assert.equal(r.value.config.nickname, 'Top');
    assert.deepEqual(r.value.config.files, [
      top,
      join(dir, 'torrc.d', '10-ports.conf'),
      join(dir, 'torrc.d', '20-transport.conf'),
    ]);
  });

  it('loadConfigFile detects a loop back to the top file', () => {
    const top = join(dir, 'torrc-loop');
    const r = loadConfigFile(top, { cpuCount: 1 });
    assert.ok(!r.ok);
    assert.equal(r.error.errors.length, 1);
    assert.match(r.error.errors[0]!.message, /loop: .*torrc-loop -> .*loop-a -> .*loop-b -> .*torrc-loop/);
  });

  it('an unreadable top-level file is one error naming it', () => {
    const r = loadConfigFile(join(dir, 'absent'));
    assert.ok(!r.ok);
    assert.deepEqual(
      r.error.errors.map((e) => [e.code, e.line]),
      [['unreadable', null]],
    );
  });
});
