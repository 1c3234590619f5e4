/** Tracker-supplied text (failure reasons, warnings, UDP error messages) made safe to log. */

/** Tracker text kept for logs: longer is cut. */
export const MAX_TRACKER_TEXT = 512;

/** UTF-8 (bad sequences as U+FFFD), control characters as U+FFFD, cut at MAX_TRACKER_TEXT. */
export function trackerText(bytes: Uint8Array): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, MAX_TRACKER_TEXT * 4)).toString("utf8");
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, "\uFFFD");
  return clean.length > MAX_TRACKER_TEXT ? `${clean.slice(0, MAX_TRACKER_TEXT)}...` : clean;
}
