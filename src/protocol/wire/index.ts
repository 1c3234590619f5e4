/** The peer-wire codec (BEP 3, BEP 6, BEP 10): pure code, no sockets. */
export * from "./types.js";
export { Bitfield, bitfieldByteLength, bitfieldViolation } from "./bitfield.js";
export { MAX_PIECE_COUNT, torrentGeometry, type TorrentGeometry } from "./geometry.js";
export { contextViolation } from "./recheck.js";
export { DEFAULT_MAX_EXTENDED_LENGTH, MAX_PIECE_MESSAGE_LENGTH } from "./frame.js";
export { WireDecoder, type WireDecoderOptions } from "./decoder.js";
export * from "./encode.js";
export * from "./handshake.js";
export { parseExtendedHandshake, encodeExtendedHandshakePayload } from "./extendedHandshake.js";
export { addressBytes, formatAddress } from "./address.js";
