import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ChannelCommand,
  channelCommandDisposition,
  isAllowedWhenOpen,
  isAllowedWhileNegotiating,
} from '../src/index.js';

describe('per-phase command dispositions (C tor channeltls.c)', () => {
  it('while negotiating: handshake cells are handled, VPADDING/AUTHORIZE dropped, fixed cells refused', () => {
    const expect: Array<[number, string]> = [
      [ChannelCommand.VERSIONS, 'handle'],
      [ChannelCommand.CERTS, 'handle'],
      [ChannelCommand.AUTH_CHALLENGE, 'handle'],
      [ChannelCommand.AUTHENTICATE, 'handle'],
      [ChannelCommand.NETINFO, 'handle'],
      [ChannelCommand.VPADDING, 'ignore'],
      [ChannelCommand.AUTHORIZE, 'ignore'],
      [200, 'ignore'],
      [ChannelCommand.PADDING, 'reject'],
      [ChannelCommand.CREATE_FAST, 'reject'],
      [ChannelCommand.RELAY, 'reject'],
      [ChannelCommand.PADDING_NEGOTIATE, 'reject'],
      [77, 'reject'],
    ];
    for (const [command, disposition] of expect) {
      assert.equal(channelCommandDisposition('negotiating', command), disposition, `command ${command}`);
    }
    assert.equal(isAllowedWhileNegotiating(ChannelCommand.NETINFO), true);
    assert.equal(isAllowedWhileNegotiating(ChannelCommand.PADDING), false);
  });

  it('when open: circuit cells are handled, padding and stale handshake cells dropped, auth cells refused', () => {
    const expect: Array<[number, string]> = [
      [ChannelCommand.CREATE2, 'handle'],
      [ChannelCommand.CREATE_FAST, 'handle'],
      [ChannelCommand.CREATE, 'handle'],
      [ChannelCommand.RELAY, 'handle'],
      [ChannelCommand.RELAY_EARLY, 'handle'],
      [ChannelCommand.DESTROY, 'handle'],
      [ChannelCommand.CREATED2, 'handle'],
      [ChannelCommand.PADDING_NEGOTIATE, 'handle'],
      [ChannelCommand.PADDING, 'ignore'],
      [ChannelCommand.VPADDING, 'ignore'],
      [ChannelCommand.VERSIONS, 'ignore'],
      [ChannelCommand.NETINFO, 'ignore'],
      [ChannelCommand.AUTHORIZE, 'ignore'],
      [77, 'ignore'],
      [200, 'ignore'],
      [ChannelCommand.CERTS, 'reject'],
      [ChannelCommand.AUTH_CHALLENGE, 'reject'],
      [ChannelCommand.AUTHENTICATE, 'reject'],
    ];
    for (const [command, disposition] of expect) {
      assert.equal(channelCommandDisposition('open', command), disposition, `command ${command}`);
    }
    assert.equal(isAllowedWhenOpen(ChannelCommand.CERTS), false);
    assert.equal(isAllowedWhenOpen(ChannelCommand.PADDING), true);
  });

  it('gives a disposition for every byte', () => {
    for (let command = 0; command < 256; command++) {
      for (const phase of ['negotiating', 'open'] as const) {
        assert.ok(['handle', 'ignore', 'reject'].includes(channelCommandDisposition(phase, command)));
      }
    }
  });
});
