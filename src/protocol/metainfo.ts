// The metainfo API in one place: parsing (metainfoParse.ts) and building (metainfoBuild.ts).
export { METAINFO_LIMITS, parseMetainfo } from "./metainfoParse.js";
export { buildTorrent, type BuildTorrentOptions } from "./metainfoBuild.js";
