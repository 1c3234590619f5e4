// The tracker protocol (BEP 3/23 HTTP, BEP 15 UDP, BEP 12 tiers live in the announcer): pure codecs.
export * from "./types.js";
export { parseTrackerUrl, buildAnnounceUrl, percentEncodeBytes, checkAnnounceRequest, type TrackerUrl, type TrackerUrlVerdict } from "./url.js";
export {
  decodeCompactPeers,
  encodeCompactPeers,
  decodeDictPeers,
  compactEntry,
  peerAt,
  familyOf,
  addressOf,
  COMPACT_IPV4_ENTRY,
  COMPACT_IPV6_ENTRY,
  type AnswerPeer,
  type PeerList,
  type PeerListVerdict,
} from "./peers.js";
export { parseHttpAnnounce, encodeHttpAnnounce, encodeHttpFailure, encodeHttpScrape, DEFAULT_INTERVAL_SEC, type HttpAnnounceVerdict, type HttpAnnounceAnswer, type HttpScrapeFile, type HttpReplyOptions } from "./httpReply.js";
export { trackerText, MAX_TRACKER_TEXT } from "./text.js";
export {
  encodeConnect,
  encodeAnnounce,
  encodeScrape,
  decodeUdpReply,
  UDP_PROTOCOL_ID,
  UdpAction,
  MAX_SCRAPE_HASHES,
  type UdpReplyVerdict,
  type UdpExpectation,
} from "./udp.js";
export { decodeUdpRequest, encodeConnectReply, encodeAnnounceReply, encodeScrapeReply, encodeErrorReply, type UdpRequestVerdict, type UdpAnnounceAnswer } from "./udpServer.js";
