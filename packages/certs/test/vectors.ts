/**
 * Certificates produced by other Tor implementations, with their sources.
 */
import { fromBase64, hex } from '@relayd/common';

function b64(text: string): Uint8Array {
  const bytes = fromBase64(text);
  if (!bytes) throw new Error(`bad base64 in vector: ${text}`);
  return bytes;
}

/**
 * From a CERTS cell of a chutney network, as recorded in Arti
 * crates/tor-cert/tests/testvec_certs.rs (`test_valid_ed`, `test_valid_rsa_cc`).
 * Notional check time: 2020-09-25T02:13:20Z.
 */
export const ARTI_CHUTNEY = {
  source: 'arti crates/tor-cert/tests/testvec_certs.rs',
  nowMs: Date.UTC(2020, 8, 25, 2, 13, 20),
  identityKey: hex('DCB604DB2034B00FD16986D4ADB9D16B21CB4E4457A33DEC0F538903683E96E9'),
  signingKey: hex('F82294B866A31F01FC5D0DA8572850A9B929545C3266558D7D2316E3B74172B0'),
  /** Type 4, identity -> signing key, one signed-with-ed25519-key extension; expires 2020-10-26T18:00:00Z. */
  signingCert: hex(
    '01040006CC2A01' +
      'F82294B866A31F01FC5D0DA8572850A9B929545C3266558D7D2316E3B74172B0' +
      '01002004' +
      '00' +
      'DCB604DB2034B00FD16986D4ADB9D16B21CB4E4457A33DEC0F538903683E96E9' +
      'FF1A5203FA27F86EF7528D89A0845D2520166E340754FFEA2AAE0F612B7CE5DA' +
      '094A0236CDAC45034B0B6842C18E7F6B51B93A3CF7E60663B8AD061C30A62602',
  ),
  signingCertExpiresMs: Date.UTC(2020, 9, 26, 18),
  /** Type 5, signing key -> SHA-256 of the TLS certificate, no extensions; expires 2020-09-28T18:00:00Z. */
  tlsLinkCert: hex(
    '01050006C98A03' +
      'B4FD606B64E4CBD466B8D76CB131069BAE6F3AA1878857C9F624E31D77A799B8' +
      '00' +
      '7173E5F8068431D0D3F5EE16B4C9FFD59DF373E152A87281BAE744AA5FCF7217' +
      '1BF4B27C4E8FC1C6A9FC5CA11058BC49647063D7903CFD9F512F89099B27BC0C',
  ),
  tlsCertDigest: hex('B4FD606B64E4CBD466B8D76CB131069BAE6F3AA1878857C9F624E31D77A799B8'),
  tlsLinkCertExpiresMs: Date.UTC(2020, 8, 28, 18),
  /** DER PKCS#1 RSA identity key of the same relay. */
  rsaIdentityKey: hex(
    '30818902818100d38b1e6ceb946e0db0751f4cbace3dcb9688b6c25304227b4710c35afb73627e50500f5913e158b621802612d1c75827003703338375237552eb3cd3c12f6ab3604e60c1a2d26bb1fbad206ff023969a90909d6a65a5458a5312c26ebd3a3dad30302d4515cdcd264146ac18e6fc60a04bd3ec327f04294d96ba5aa25b464c3f0203010001',
  ),
  /** The same modulus with one byte changed (Arti's `wrong_pk`). */
  wrongRsaKey: hex(
    '30818902818100d38b1e6ceb946e0db0751f4cbace3dcb9688b6c25304227b4710c35afb73627e50500f5913e158b621802612d1c75827003703338375237552eb3cd3c12f6ab3604e60c1a2d26bb1fbad206ff023969a90909d6a65a5458a5312c26ebd6a3dad30302d4515cdcd264146ac18e6fc60a04bd3ec327f04294d96ba5aa25b464c3f0203010001',
  ),
  /** Type 7 RSA->Ed25519 cross-certificate. */
  crosscert: hex(
    'DCB604DB2034B00FD16986D4ADB9D16B21CB4E4457A33DEC0F538903683E96E9' +
      '0006DA3A80' +
      '5CF6006F9179066534DE6B45AD47A5C469063EE462762723396DC9F25452A0A5' +
      '2DA3F5087DD239F2A311F6B0D4DFEFF4ABD089DC3D0237A0ABAB19EB2045B91C' +
      'DCAF04BE0A72D548A27BF2E77BD876ECFE5E1BE622350DA6BF31F6E306ED8964' +
      '88DD5B39409B23FC3EB7B2C9F7328EB18DA36D54D80575899EA6507CCBFCDF1F',
  ),
} as const;

/**
 * Two server descriptors written by C tor 0.4.5.0-alpha-dev, from C tor
 * src/test/test_descriptors.inc (routers test001a and test002a): their
 * identity-ed25519 certificate (type 4) and ntor-onion-key-crosscert
 * (type 0A, sign bits 0 and 1). Published 2020-10-13.
 */
export const TOR_DESCRIPTORS = {
  source: 'tor src/test/test_descriptors.inc',
  nowMs: Date.UTC(2020, 9, 13, 13, 27, 9),
  routers: [
    {
      nickname: 'test001a',
      identityCert: b64(
        'AQQABs1eAaaOTHiF5TNABkcl/U1x6qvlb8dyNBjuezXxF2wFLgrRAQAgBAD/a0Xx' +
          'SqkjrxcXc1h00vvkSqjNuGb4xYg1BZUoZnwegCQmxELY6fQ3m3EzYfSSl1tbP2u8' +
          'sN4SBJCsV7aRdoYebs80CnrsPiUecVdTwruODb+wAKqKSl3u7+qx8dd1yAI=',
      ),
      masterKey: b64('/2tF8UqpI68XF3NYdNL75Eqozbhm+MWINQWVKGZ8HoA'),
      ntorOnionKey: b64('rrw3paBStz7xhguZJDdjl/Tcpqwgv4u37Zi1zJcVNFk'),
      ntorCrosscertSignBit: 0 as const,
      ntorCrosscert: b64(
        'AQoABs2OAf9rRfFKqSOvFxdzWHTS++RKqM24ZvjFiDUFlShmfB6AAFr/gG3LV3nx' +
          'pFWmVimT3w4a9RX4sihTdCQKtYIO2JTSUaBnBBCGWNKL/pgMq13Y+fUnrrltFprb' +
          'ts9KP+yi/QU=',
      ),
    },
    {
      nickname: 'test002a',
      identityCert: b64(
        'AQQABs1eAW2RVTJizfLKok8vZjvtdSQfTkjJbwuBJJah89MpjJJ1AQAgBAD7AE/p' +
          'ZVnOoor55N3BTseFvzTESbjQVJkMEw2jNMmkMUeolbJlRtsklLCMGjY9H79EFdY1' +
          'QamhpTz5AR4IyKdruX5SD+h8ovvWQK/pvVD20rI7Em6Qbg8OVvEPaZwxQwo=',
      ),
      masterKey: b64('+wBP6WVZzqKK+eTdwU7Hhb80xEm40FSZDBMNozTJpDE'),
      ntorOnionKey: b64('/vAbEzRKRi0j/0mrhyKBdNMxR56xnzl6fQvtHT/QcAE'),
      ntorCrosscertSignBit: 1 as const,
      ntorCrosscert: b64(
        'AQoABs2OAfsAT+llWc6iivnk3cFOx4W/NMRJuNBUmQwTDaM0yaQxANuEvTxfukyO' +
          'lPKM02Lzm0hIvhFmbEqmekfwrqYG+avRmAeDc8eStlm8CQBw7LRJE++MJgAHWh9r' +
          '1tB3DcJxiQU=',
      ),
    },
  ],
} as const;
