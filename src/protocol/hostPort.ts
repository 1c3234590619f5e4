// `host:port` as peers are written in magnet x.pe and on command lines (`--peer`):
// IPv4 `1.2.3.4:6881`, bracketed IPv6 `[::1]:6881`, or a DNS name `seed.example:6881`.
import { isIPv4, isIPv6 } from "node:net";

export type HostPortVerdict =
  | { readonly kind: "accepted"; readonly host: string; readonly port: number; readonly family: "ipv4" | "ipv6" | "name" }
  | { readonly kind: "rejected"; readonly reason: string };

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const MAX_HOSTNAME = 253;

/** RFC 1123 host name; a last label of digits only would be a mistyped IPv4 address. */
function isHostname(host: string): boolean {
  if (host.length === 0 || host.length > MAX_HOSTNAME) return false;
  const labels = host.endsWith(".") ? host.slice(0, -1).split(".") : host.split(".");
  const last = labels[labels.length - 1] ?? "";
  return labels.every((label) => LABEL.test(label)) && !/^\d+$/.test(last);
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

export function parseHostPort(text: string): HostPortVerdict {
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0 || text[close + 1] !== ":") return { kind: "rejected", reason: `${JSON.stringify(text)} is not [IPv6]:port` };
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (!isIPv6(host)) return { kind: "rejected", reason: `${JSON.stringify(host)} is not an IPv6 address` };
  } else {
    const colon = text.lastIndexOf(":");
    if (colon < 0) return { kind: "rejected", reason: `${JSON.stringify(text)} has no :port` };
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(":")) return { kind: "rejected", reason: `${JSON.stringify(text)}: an IPv6 address needs brackets, [addr]:port` };
    if (!isIPv4(host) && !isHostname(host)) return { kind: "rejected", reason: `${JSON.stringify(host)} is neither an IPv4 address nor a host name` };
  }
  const port = parsePort(portText);
  if (port === undefined) return { kind: "rejected", reason: `port ${JSON.stringify(portText)} is not a number from 1 to 65535` };
  const family = isIPv6(host) ? "ipv6" : isIPv4(host) ? "ipv4" : "name";
  return { kind: "accepted", host, port, family };
}
