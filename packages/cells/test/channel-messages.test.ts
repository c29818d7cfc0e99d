import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecodeError, hex, toHex } from '@relayd/common';
import fc from 'fast-check';
import {
  CELL_BODY_LENGTH,
  ChannelCommand,
  type ChannelMessage,
  channelCommandName,
  channelMessageCommand,
  DestroyReason,
  decodeChannelMessage,
  destroyReasonName,
  encodeChannelMessage,
  isVariableLengthCommand,
} from '../src/index.js';
import { channelMessageArb } from './arbitraries.js';

function pad(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(CELL_BODY_LENGTH);
  out.set(bytes);
  return out;
}

/** The body as it arrives in a cell: padded to 509 bytes for fixed-length commands. */
function cellBody(command: number, body: Uint8Array): Uint8Array {
  return isVariableLengthCommand(command) ? body : pad(body);
}

function decodeOk(command: number, body: Uint8Array): ChannelMessage {
  const res = decodeChannelMessage(command, body);
  if (!res.ok) throw res.error;
  return res.value;
}

function decodeErr(command: number, body: Uint8Array): DecodeError {
  const res = decodeChannelMessage(command, body);
  assert.equal(res.ok, false, 'expected a decode error');
  if (res.ok) throw new Error('unreachable');
  assert.ok(res.error instanceof DecodeError);
  return res.error;
}

/** Checks that `hexBody` decodes to `message` and that `message` encodes back to exactly `hexBody`. */
function vector(hexBody: string, message: ChannelMessage): void {
  const body = hex(hexBody);
  const command = channelMessageCommand(message);
  assert.deepEqual(decodeOk(command, cellBody(command, body)), message);
  const encoded = encodeChannelMessage(message);
  assert.equal(encoded.command, command);
  assert.equal(toHex(encoded.body), toHex(body));
}

// Unless marked "hand-computed", the vectors below are the bodies in Arti's
// crates/tor-cell/tests/testvec_chanmsg.rs, which were captured from tor
// 0.4.5.0-alpha-dev in a chutney network.
describe('channel message vectors', () => {
  it('VERSIONS', () => {
    vector('000300040005', { type: 'versions', versions: [3, 4, 5] });
    vector('', { type: 'versions', versions: [] });
  });

  it('AUTH_CHALLENGE', () => {
    vector('00DA5C085DEE4F3656710DA3B73652E48ACD5BAE608335FCA3FB6C4DEE104A51 0002 0001 0003', {
      type: 'auth-challenge',
      challenge: hex('00DA5C085DEE4F3656710DA3B73652E48ACD5BAE608335FCA3FB6C4DEE104A51'),
      methods: [1, 3],
    });
  });

  it('AUTHENTICATE', () => {
    const authentication = hex(
      '4155544830303033ED6B2ACBAC868D87D1500505BF59196FD38DEF15E1078C46BF97C7EBCC26C2A26AAF7E6B8FF0C27AB8F0047426017D03A413D8C1D00077ED441112C3E88EEE535BA78B2FD74C3910C5FECBD700677DCA931F4B90EA5CD24D4E64F7E9EC9E0F38E4E1E55E42BC72F59E9224E328EB1BBE3D079013B2A04CDBCEB43B7135D365E81B01B6845D789F66F0F62AAF52D906D2252E5F105215A627123C05AF782D7B0D64C41C30AFB6660B3DB1028868104E2560CB527568241992B80855101D3BF6EFA987F7A56C132A0CF38B0097AA215CC58FF089AFCC15C0ABB3947E68137CD8554E336C435E4633F88909919E5448F80CDDBD5987D85407A95A2BBC898C7004318265719D99C7B549C276CDEE38CE9202395CB7E1EBD9B3D47C1F4BC254AA12798BA1480400A3CC8067518A9BBDD453E601579429CF2E72D6C175DA0A412D99ECA1079015651E95E8F40AD8BEC3CB496E83C0C66D10F4C606',
    );
    vector(`0003 0160 ${toHex(authentication)}`, { type: 'authenticate', authType: 3, authentication });
  });

  it('CERTS (the whole captured responder cell: types 1, 2, 4, 5, 7)', () => {
    const type1 = hex(
      '3082023A308201A3A003020102020872AB0FE86C771604300D06092A864886F70D01010B0500301F311D301B06035504030C147777772E74636A76356B766A646472322E636F6D301E170D3230303632373030303030305A170D3231303231363233353935395A301C311A301806035504030C117777772E617775676863646E732E6E657430820122300D06092A864886F70D01010105000382010F003082010A0282010100FE255E99E10BE986DDA5DFB4AD7C39E8EFE4E5D79E105AB976942B6829386EB1D7B7AFB5ED4FCBEC8C1A34C34FD2ED182F8B42A0363453B55EE371F21347235277E2357F28AA10DD82D4248F7D1894AB5D2979654F71C350F73AD9F918D71F34F1505F77EC16391C8340F392F3684BA4BB6A7B022C3954C1158F152F9E3B4E328FAB2E4E881903CA0E32204B0FDA8AB62B6E215A7BDEC3F2AE41DC58EEC1252F643A1812A5D71802F48D6133DF79955E01F0287BB4AB8CF95BEBCD2EC66EF5B38C7B5EC08DED3D6E2A1D57289D773D5CB932803B6D97784D1DA36AE71C073ADBB7393714001CD7A082512772A7076DC01166417AF7C50AEF7F15FD0806EB07FF0203010001300D06092A864886F70D01010B050003818100CDA4E06BB6BB238B91188A077EEB0A4722518090FD116AF6CDEEB0E85CF6D8E242CF861F973A252EB5116709373B5AC817E6F848E2CBD76AEF684350D3416AEE5F33D56B96982509CDAF11CCA7260E5ADF6DDD0D017AE9A575C999ADAE50B3FB7027E810D47C8C5C14618C0AA10D307E304FBE50E868ADECB2C9536E2DB51BE0',
    );
    const type2 = hex(
      '308201B930820122A0030201020208607C28BE6C390943300D06092A864886F70D01010B0500301F311D301B06035504030C147777772E74636A76356B766A646472322E636F6D301E170D3230303831303030303030305A170D3231303831303030303030305A301F311D301B06035504030C147777772E74636A76356B766A646472322E636F6D30819F300D06092A864886F70D010101050003818D0030818902818100D38B1E6CEB946E0DB0751F4CBACE3DCB9688B6C25304227B4710C35AFB73627E50500F5913E158B621802612D1C75827003703338375237552EB3CD3C12F6AB3604E60C1A2D26BB1FBAD206FF023969A90909D6A65A5458A5312C26EBD3A3DAD30302D4515CDCD264146AC18E6FC60A04BD3EC327F04294D96BA5AA25B464C3F0203010001300D06092A864886F70D01010B0500038181003BCE561EA7F95CC00B78AAB5D69573FF301C282A751D4A651921D042F1BECDBA24D918A6D8A5E138DC07BBA0B335478AE37ABD2C93A93932442AE9084329E846170FE0FC4A50AAFC804F311CC3CA4F41D845A7BA5901CBBC3E021E9794AAC70CE1F37B0A951592DB1B64F2B4AFB81AE52DBD9B6FEDE96A5FB8125EB6251EE50A',
    );
    const type4 = hex(
      '01040006CC2A01F82294B866A31F01FC5D0DA8572850A9B929545C3266558D7D2316E3B74172B00100200400DCB604DB2034B00FD16986D4ADB9D16B21CB4E4457A33DEC0F538903683E96E9FF1A5203FA27F86EF7528D89A0845D2520166E340754FFEA2AAE0F612B7CE5DA094A0236CDAC45034B0B6842C18E7F6B51B93A3CF7E60663B8AD061C30A62602',
    );
    const type5 = hex(
      '01050006C98A03B4FD606B64E4CBD466B8D76CB131069BAE6F3AA1878857C9F624E31D77A799B8007173E5F8068431D0D3F5EE16B4C9FFD59DF373E152A87281BAE744AA5FCF72171BF4B27C4E8FC1C6A9FC5CA11058BC49647063D7903CFD9F512F89099B27BC0C',
    );
    const type7 = hex(
      'DCB604DB2034B00FD16986D4ADB9D16B21CB4E4457A33DEC0F538903683E96E90006DA3A805CF6006F9179066534DE6B45AD47A5C469063EE462762723396DC9F25452A0A52DA3F5087DD239F2A311F6B0D4DFEFF4ABD089DC3D0237A0ABAB19EB2045B91CDCAF04BE0A72D548A27BF2E77BD876ECFE5E1BE622350DA6BF31F6E306ED896488DD5B39409B23FC3EB7B2C9F7328EB18DA36D54D80575899EA6507CCBFCDF1F',
    );
    // The length fields are the captured ones, not recomputed.
    const wire = `05 01 023E ${toHex(type1)} 02 01BD ${toHex(type2)} 04 008C ${toHex(type4)} 05 0068 ${toHex(type5)} 07 00A5 ${toHex(type7)}`;
    const certs = [1, 2, 4, 5, 7];
    const bodies = [type1, type2, type4, type5, type7];
    vector(wire, { type: 'certs', certs: certs.map((certType, i) => ({ certType, body: bodies[i]! })) });
    // "Any extra octets at the end of a CERTS cell MUST be ignored." (hand-computed)
    assert.deepEqual(decodeOk(ChannelCommand.CERTS, hex('01 02 0001 aa ffff')), {
      type: 'certs',
      certs: [{ certType: 2, body: hex('aa') }],
    });
    assert.equal(decodeErr(ChannelCommand.CERTS, hex('02 02 0001 aa 04 0005 0102')).failure, 'incomplete');
  });

  it('CREATE2, CREATED2, CREATE_FAST, CREATED_FAST, CREATE, CREATED', () => {
    const ntorOnionSkin = hex(
      '09164430E84D3BC56EC7E1D22734742345E2DECE0DE535B66B8E8A0EBBDAE3263C53E02EC2215685CD3A977DC7946FF47F84CD7025F75D252D1B35DEA28F32FA912513889A207E5049992DBC9BC541194C13624A',
    );
    vector(`0002 0054 ${toHex(ntorOnionSkin)}`, {
      type: 'create2',
      handshakeType: 2,
      handshakeData: ntorOnionSkin,
    });
    const ntorReply = hex(
      '0108907A701030ADB6CA9C6AF097DC4855614655659B6A7BF21C1097DCE7C66EE0E4EF287DE7CED40BEECA8B90140C05DB6138AEB551CE0C037068C315E307A0',
    );
    vector(`0040 ${toHex(ntorReply)}`, { type: 'created2', handshakeData: ntorReply });
    vector('0DC2A5EB921EF4B71F41184A99F4FAD99620A648', {
      type: 'create-fast',
      keyMaterial: hex('0DC2A5EB921EF4B71F41184A99F4FAD99620A648'),
    });
    vector('03B74250B01D09FDA72B70D63AE7994926F13055BED23485F6B3C8C3CEAFE1DF48A9FF8BAC4993FC', {
      type: 'created-fast',
      keyMaterial: hex('03B74250B01D09FDA72B70D63AE7994926F13055'),
      derivativeKeyData: hex('BED23485F6B3C8C3CEAFE1DF48A9FF8BAC4993FC'),
    });
    const tap = hex(
      '07780DBE97D62D392E0DF2286C78386C49464154A8EDE46EECA1753AA49391200F33F22DF0128CCEC3339434D436551930C95338693EEFAD3964D53184C58AF6C0D838EE3893FAE650DAC89BB12EBB6A882E572C9EA079ACD3E51063296E52ABC875D7A31F8965A6BA9CE54F16AD5C746FEE7D9EF2D41CF4399D818567599D2A0FA8E27F31838F80D80E2D03C040FB954B2AD8872530FFB2AA50531B2BB40C7CB4BF1E8946A50C7622A2916C679AD11577EB4EC414BF8F287085',
    );
    vector(toHex(tap), { type: 'create', handshakeData: tap });
    const tapReply = hex(
      '0AC85AFA82E14BD661A4BEB3F6420508F21336455326442D9D34B41F4F4E1283751B681C83AB6C06089C6CB5AC857509B4CF185DD044C6B66A53B6FA7E48F8728DC7CC114E38E9258058A0D7C3603335E6812AB3687076DC82F2D4E9872D6787587CBAACF2BC962DFB3A0FCD313D86EC0572DEC12C5D113C78A7B34EF3C209260E48AB5C6E1DAB0D68617B76CC408A93DC0E26C0',
    );
    vector(toHex(tapReply), { type: 'created', handshakeData: tapReply });
  });

  it('refuses CREATE2/CREATED2 handshake lengths that cannot fit a cell (as C tor does)', () => {
    // C tor test_cell_formats.c: "\x00\x00\x02\x00" (TAP, 512 bytes) is rejected.
    assert.equal(decodeErr(ChannelCommand.CREATE2, pad(hex('0000 0200'))).failure, 'malformed');
    assert.equal(decodeErr(ChannelCommand.CREATE2, pad(hex('0002 01FA'))).failure, 'malformed');
    assert.equal(decodeOk(ChannelCommand.CREATE2, pad(hex('0002 01F9'))).type, 'create2');
    // C tor: CREATED2 "\x01\xF1" (497) too long; "\x01\xF0" fits... in a relay cell. In a channel cell, 507 is the bound.
    assert.equal(decodeErr(ChannelCommand.CREATED2, pad(hex('01FC'))).failure, 'malformed');
    assert.equal(decodeOk(ChannelCommand.CREATED2, pad(hex('01FB'))).type, 'created2');
    assert.equal(decodeErr(ChannelCommand.CREATE_FAST, hex('0102')).failure, 'incomplete');
  });

  it('DESTROY with known and unknown reasons', () => {
    vector('04', { type: 'destroy', reason: DestroyReason.HIBERNATING });
    vector('00', { type: 'destroy', reason: DestroyReason.NONE });
    vector('f7', { type: 'destroy', reason: 0xf7 });
    assert.equal(destroyReasonName(7), 'OR_IDENTITY');
    assert.equal(destroyReasonName(12), 'NOSUCHSERVICE');
    assert.equal(destroyReasonName(13), undefined);
  });

  it('NETINFO from a client, a relay, IPv6, and with addresses to ignore', () => {
    const localhost = { family: 'ipv4' as const, bytes: hex('7f000001') };
    const localhost6 = { family: 'ipv6' as const, bytes: hex('00000000000000000000000000000001') };
    vector('00000000 04 04 7F000001 00', {
      type: 'netinfo',
      timestamp: 0,
      otherAddress: localhost,
      myAddresses: [],
    });
    vector('5F6F80E1 04 04 7F000001 01 04 04 7F000001', {
      type: 'netinfo',
      timestamp: 0x5f6f80e1,
      otherAddress: localhost,
      myAddresses: [localhost],
    });
    vector(
      '5F6F859C 06 10 00000000000000000000000000000001 02 04 04 7F000001 06 10 00000000000000000000000000000001',
      {
        type: 'netinfo',
        timestamp: 0x5f6f859c,
        otherAddress: localhost6,
        myAddresses: [localhost, localhost6],
      },
    );
    // Arti's hand-made "bogus addresses get ignored" body: wrong lengths for
    // known types and an unknown type are kept as `unrecognized` for the
    // receiver to skip, and re-encode byte for byte.
    vector(
      '5F6F859C 06 09 000000000000000000 03 04 06 7F0000010000 BB 02 FFFF 06 10 00000000000000000000000000000001',
      {
        type: 'netinfo',
        timestamp: 0x5f6f859c,
        otherAddress: { family: 'unrecognized', addressType: 6, value: hex('000000000000000000') },
        myAddresses: [
          { family: 'unrecognized', addressType: 4, value: hex('7F0000010000') },
          { family: 'unrecognized', addressType: 0xbb, value: hex('FFFF') },
          localhost6,
        ],
      },
    );
    assert.equal(decodeErr(ChannelCommand.NETINFO, hex('00000000 04 04 7F00')).failure, 'incomplete');
    assert.equal(
      decodeErr(ChannelCommand.NETINFO, hex('00000000 04 04 7F000001 02 04 04 01020304')).failure,
      'incomplete',
    );
  });

  it('PADDING, VPADDING and PADDING_NEGOTIATE', () => {
    vector('', { type: 'padding' });
    vector('', { type: 'vpadding', length: 0 });
    vector('00000000000000000000', { type: 'vpadding', length: 10 });
    // Arti's hand-made PADDING_NEGOTIATE bodies.
    vector('00 02 0100 0200', { type: 'padding-negotiate', command: 2, itoLowMs: 256, itoHighMs: 512 });
    vector('00 01 0000 0000', { type: 'padding-negotiate', command: 1, itoLowMs: 0, itoHighMs: 0 });
    assert.equal(decodeErr(ChannelCommand.PADDING_NEGOTIATE, pad(hex('90 0303'))).failure, 'malformed');
    assert.equal(decodeErr(ChannelCommand.PADDING_NEGOTIATE, pad(hex('00 03'))).failure, 'malformed');
  });

  it('RELAY and RELAY_EARLY stay opaque 509-byte payloads', () => {
    const payload = pad(new TextEncoder().encode('not validated at this stage'));
    vector(toHex(payload), { type: 'relay', payload });
    vector(toHex(payload), { type: 'relay-early', payload });
    assert.equal(decodeErr(ChannelCommand.RELAY, payload.subarray(0, 508)).failure, 'incomplete');
    assert.equal(decodeErr(ChannelCommand.RELAY, new Uint8Array(510)).failure, 'malformed');
  });

  it('AUTHORIZE keeps its body; unknown commands are unrecognized, not errors', () => {
    vector('0102', { type: 'authorize', body: hex('0102') });
    const text = pad(new TextEncoder().encode("A mage's name is better hidden than a herring in the sea"));
    vector(toHex(text), { type: 'unrecognized', command: 101, body: text });
    vector('6265747465722067756172646564207468616e206120647261676f6e27732064656e', {
      type: 'unrecognized',
      command: 244,
      body: new TextEncoder().encode("better guarded than a dragon's den"),
    });
    assert.throws(
      () => encodeChannelMessage({ type: 'unrecognized', command: 8, body: new Uint8Array(509) }),
      /known/,
    );
  });

  it('VERSIONS with an odd length is malformed (tor-spec 4.1)', () => {
    const e = decodeErr(ChannelCommand.VERSIONS, hex('00030004 00'));
    assert.equal(e.failure, 'malformed');
    assert.match(e.message, /^VERSIONS cell: odd payload length 5/);
  });

  it('names every command of the table', () => {
    assert.equal(channelCommandName(10), 'CREATE2');
    assert.equal(channelCommandName(132), 'AUTHORIZE');
    assert.equal(channelCommandName(13), undefined);
  });
});

describe('channel message properties', () => {
  it('decode(encode(m)) == m for every message, through the padded cell body', () => {
    fc.assert(
      fc.property(channelMessageArb, (message) => {
        const { command, body } = encodeChannelMessage(message);
        assert.deepEqual(decodeChannelMessage(command, cellBody(command, body)), {
          ok: true,
          value: message,
        });
      }),
      { numRuns: 1000 },
    );
  });

  it('every command decoder returns ok or a DecodeError for random bytes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 600 }), (command, bytes) => {
        const res = decodeChannelMessage(command, bytes);
        if (!res.ok) assert.ok(res.error instanceof DecodeError);
      }),
      { numRuns: 2000 },
    );
  });

  it('every known command decoder is total on random bytes', () => {
    for (const command of Object.values(ChannelCommand)) {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
          const res = decodeChannelMessage(command, bytes);
          if (!res.ok) assert.ok(res.error instanceof DecodeError);
        }),
        { numRuns: 300 },
      );
    }
  });

  it('truncated encodings give ok or a DecodeError, never an exception', () => {
    fc.assert(
      fc.property(channelMessageArb, fc.nat(), (message, cut) => {
        const { command, body } = encodeChannelMessage(message);
        const res = decodeChannelMessage(
          command,
          body.subarray(0, body.length === 0 ? 0 : cut % body.length),
        );
        if (!res.ok) assert.ok(res.error instanceof DecodeError);
      }),
      { numRuns: 1000 },
    );
  });
});
