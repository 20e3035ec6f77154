/**
 * Where `std.http` may connect. Loopback, link-local, private, CGNAT,
 * unique-local, multicast and unspecified addresses (Restate's admin API, the
 * cloud metadata service, the database) are refused unless `LASH_HTTP_ALLOW`
 * names the host. The check runs on every address a name resolves to, inside
 * the socket's own lookup, so a DNS answer cannot change between check and connect.
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { ProcessFailure } from "../process-failure.ts";

const blocked = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  blocked.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  blocked.addSubnet(net, prefix, "ipv6");
}

/** Whether an IP address is in a range `std.http` refuses by default (IPv4-mapped IPv6 counts as its IPv4). */
export function isRestrictedAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped !== undefined) return blocked.check(mapped, "ipv4");
  const family = isIP(address);
  if (family === 0) return true;
  return blocked.check(address, family === 4 ? "ipv4" : "ipv6");
}

export class HttpPolicy {
  readonly #allow: Set<string>;

  /** `allow`: host names or IPs (`LASH_HTTP_ALLOW`) that may be reached even on a restricted address. */
  constructor(allow: readonly string[] = []) {
    this.#allow = new Set(allow.map((h) => normalizeHost(h)));
  }

  allows(host: string): boolean {
    return this.#allow.has(normalizeHost(host));
  }

  /** Refuses a URL whose host is a restricted IP literal (names are checked at connect time by `lookup`). */
  checkUrl(url: URL): void {
    const host = normalizeHost(url.hostname);
    if (this.allows(host)) return;
    if (isIP(host) !== 0 && isRestrictedAddress(host)) throw refused(host, host);
    if (host === "localhost" || host.endsWith(".localhost")) throw refused(host, "loopback");
  }

  /** A socket `lookup` that resolves every address and refuses the host if any of them is restricted. */
  lookupFor(host: string): LookupFunction {
    const allowed = this.allows(host);
    return (hostname: string, options: object, callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void) => {
      dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
        if (err) return callback(err, []);
        const bad = addresses.find((a) => isRestrictedAddress(a.address));
        if (!allowed && bad !== undefined) return callback(refused(hostname, bad.address), []);
        if ((options as { all?: boolean }).all) return callback(null, addresses);
        return callback(null, addresses[0]!.address, addresses[0]!.family);
      });
    };
  }
}

function normalizeHost(host: string): string {
  return host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, "");
}

function refused(host: string, address: string): ProcessFailure {
  return new ProcessFailure(
    "permission_denied",
    "http_address_refused",
    `std.http refuses ${host} (${address}: loopback, link-local or private); list the host in LASH_HTTP_ALLOW to allow it`,
  );
}
