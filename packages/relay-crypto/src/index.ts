export {
  RELAY_DIGEST_FIELD_LENGTH,
  RELAY_PAYLOAD_LENGTH,
  RelayHeaderOffset,
  SENDME_TAG_LENGTH,
} from './relay-payload.js';
export { type RecognizedBackwardCell, Tor1ClientCrypto } from './tor1-client-crypto.js';
export {
  splitTor1KeyMaterial,
  TOR1_KEY_MATERIAL_LENGTH,
  TOR1_KEY_MATERIAL_MIN_LENGTH,
  type Tor1Keys,
} from './tor1-key-material.js';
export { Tor1Layer } from './tor1-layer.js';
export { Tor1RelayCrypto } from './tor1-relay-crypto.js';
