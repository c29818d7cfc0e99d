import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAddressPort } from '@relayd/ext-orport';
import {
  FileTransportAddressMemory,
  parseTransportAddresses,
  TRANSPORT_ADDRESSES_FILE,
} from '../src/index.js';
import { RecordingLogger } from './fake-pt.js';

function address(text: string) {
  const r = parseAddressPort(text);
  assert.ok(r.ok);
  return r.value;
}

describe('remembered transport ports', () => {
  it('are written as C tor state lines, atomically, mode 0600, and read back by a new instance', () => {
    const dir = mkdtempSync(join(tmpdir(), 'relayd-pt-addresses-'));
    try {
      const logger = new RecordingLogger();
      const memory = FileTransportAddressMemory.inDataDirectory(dir, logger);
      assert.equal(memory.recall('obfs4'), undefined);
      memory.remember('obfs4', address('[::]:36089'));
      memory.remember('meek_lite', address('198.51.100.7:8080'));
      const path = join(dir, TRANSPORT_ADDRESSES_FILE);
      assert.equal(
        readFileSync(path, 'utf8'),
        'TransportProxy meek_lite 198.51.100.7:8080\nTransportProxy obfs4 [::]:36089\n',
      );
      assert.equal(statSync(path).mode & 0o777, 0o600);
      const again = FileTransportAddressMemory.inDataDirectory(dir, logger);
      assert.equal(again.recall('obfs4'), 36089);
      again.forget('obfs4');
      assert.equal(readFileSync(path, 'utf8'), 'TransportProxy meek_lite 198.51.100.7:8080\n');
      assert.equal(logger.lines.length, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('skip lines they do not understand and survive an unreadable file', () => {
    assert.deepEqual(
      [
        ...parseTransportAddresses(
          'junk\nTransportProxy a 1.2.3.4:5\nTransportProxy b nowhere\nTransportProxy a 9.9.9.9:9\n',
        ),
      ].map(([k, v]) => [k, v.port]),
      [['a', 5]],
    );
    const dir = mkdtempSync(join(tmpdir(), 'relayd-pt-addresses-'));
    try {
      const logger = new RecordingLogger();
      // A plain file where a directory should be: reading fails (ENOTDIR, not ENOENT), writing fails.
      writeFileSync(join(dir, 'x'), '');
      const memory = new FileTransportAddressMemory(join(dir, 'x', 'nested'), logger);
      assert.equal(memory.recall('obfs4'), undefined);
      memory.remember('obfs4', address('127.0.0.1:1'));
      assert.equal(memory.recall('obfs4'), 1, 'kept in memory even when the file cannot be written');
      assert.ok(logger.find('warn', /could not read the transport addresses/), JSON.stringify(logger.lines));
      assert.ok(logger.find('warn', /could not write the transport addresses/));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
