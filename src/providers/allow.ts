// The SSRF guard: the backend calls provider nodes (health checks, the gateway's proxying), and a
// node's URL is whatever a provider typed, so every address it reaches is checked against the
// operator's allow-list (PROVIDER_NODE_ALLOW: CIDRs, IP addresses or host names, comma-separated).
// Development (stage off, or the local chain 31337) allows only what is listed, loopback by
// default. Production allows public addresses, and private, loopback, link-local and other
// special ranges only when listed. Checked when a node is registered and again on every
// connection: `guardedLookup` resolves the name and refuses a disallowed address, so a host name
// that later resolves to a private address is never called.
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";
import { badRequest } from "../errors.ts";

/** Loopback: the development default. */
export const LOOPBACK_ALLOW = ["127.0.0.0/8", "::1/128"] as const;

/** Ranges that are not the public internet: refused in production unless listed. */
const SPECIAL_V4 = [
  "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24",
  "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
];
// IPv4-mapped addresses (::ffff:0:0/96) are unmapped and checked as IPv4: BlockList matches every IPv4 address against that range.
const SPECIAL_V6 = ["::/128", "::1/128", "64:ff9b::/96", "100::/64", "2001:db8::/32", "fc00::/7", "fe80::/10", "ff00::/8"];

export interface AddressPolicy {
  /** Whether the backend may connect to `address` (an IP) of host `host`. */
  allows(address: string, host?: string): boolean;
  /** What is allowed, for error messages and the README. */
  describe(): string;
}

const blockListOf = (cidrs: readonly string[]): BlockList => {
  const list = new BlockList();
  for (const entry of cidrs) {
    const [net, bits] = entry.split("/");
    const family = isIP(net!) === 6 ? "ipv6" : "ipv4";
    if (bits === undefined) list.addAddress(net!, family);
    else list.addSubnet(net!, Number(bits), family);
  }
  return list;
};

const SPECIAL = blockListOf([...SPECIAL_V4, ...SPECIAL_V6]);

const familyOf = (address: string) => (isIP(address) === 6 ? "ipv6" : "ipv4");

/** An IPv4-mapped IPv6 address (::ffff:127.0.0.1) is checked as the IPv4 address it is. */
const unmapped = (address: string): string => {
  const dotted = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (dotted) return dotted[1]!;
  const hex = /^(?:0{0,4}:){0,5}:?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex) return address;
  const [high, low] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
  return [high >> 8, high & 255, low >> 8, low & 255].join(".");
};

/** Whether an allow-list entry is a CIDR or IP address (else a host name). */
const isAddressEntry = (entry: string) => isIP(entry.split("/")[0]!) !== 0;

/** Checks an allow-list's entries; throws naming the bad one. */
export function parseAllowList(raw: string | undefined): string[] | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  const entries = raw.split(",").map((e) => e.trim().toLowerCase()).filter(Boolean);
  for (const entry of entries) {
    const [net, bits, extra] = entry.split("/");
    const ok = isAddressEntry(entry)
      ? extra === undefined && (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (isIP(net!) === 6 ? 128 : 32)))
      : /^[a-z0-9.-]{1,253}$/.test(entry);
    if (!ok) throw new Error(`PROVIDER_NODE_ALLOW: "${entry}" is neither a CIDR, an IP address nor a host name`);
  }
  return entries;
}

/**
 * The policy for allow-list `allow` (undefined: the default): `development()` is read on every
 * check, since the admin's stage switch may change it.
 */
export function addressPolicy(allow: readonly string[] | undefined, development: () => boolean): AddressPolicy {
  const listed = allow ?? [];
  const addresses = blockListOf(listed.filter(isAddressEntry));
  const hosts = new Set(listed.filter((e) => !isAddressEntry(e)));
  const loopback = blockListOf(LOOPBACK_ALLOW);
  return {
    allows(address, host) {
      const ip = unmapped(address);
      if (isIP(ip) === 0) return false;
      if (addresses.check(ip, familyOf(ip)) || (host !== undefined && hosts.has(host.toLowerCase()))) return true;
      if (development()) return allow === undefined && loopback.check(ip, familyOf(ip));
      return !SPECIAL.check(ip, familyOf(ip));
    },
    describe: () =>
      development()
        ? `development: ${allow === undefined ? "loopback only" : `only ${listed.join(", ")}`}`
        : `production: public addresses${listed.length > 0 ? `, and ${listed.join(", ")}` : ""}`,
  };
}

const notAllowed = (policy: AddressPolicy, host: string, address: string) =>
  badRequest("NODE_ADDRESS_NOT_ALLOWED", `${host} (${address}) is outside the operator's allow-list (${policy.describe()}; PROVIDER_NODE_ALLOW)`);

/** The host of a URL as DNS and the allow-list see it (IPv6 without brackets). */
const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, "$1");

/** Every address `host` resolves to (itself, for an IP literal). 400 NODE_HOST_UNRESOLVED. */
async function resolveAll(host: string): Promise<string[]> {
  if (isIP(host) !== 0) return [host];
  return new Promise((resolve, reject) =>
    dnsLookup(host, { all: true }, (error, found: LookupAddress[]) =>
      error || found.length === 0
        ? reject(badRequest("NODE_HOST_UNRESOLVED", `${host} does not resolve: ${error?.message ?? "no address"}`))
        : resolve(found.map((a) => a.address)),
    ),
  );
}

/**
 * Resolves the URL's host and checks every address it resolves to.
 * @throws AppError 400 `NODE_ADDRESS_NOT_ALLOWED`, `NODE_HOST_UNRESOLVED`.
 */
export async function assertNodeAddressAllowed(url: string | URL, policy: AddressPolicy): Promise<void> {
  const host = hostOf(new URL(url));
  for (const address of await resolveAll(host)) if (!policy.allows(address, host)) throw notAllowed(policy, host, address);
}

/**
 * A `lookup` for node:http(s) requests and agents (and undici's `connect.lookup`): resolves like
 * dns.lookup and fails the connection when an address is outside the policy. Node skips `lookup`
 * for IP literals, so callers also run assertNodeAddressAllowed (or use nodeRequest, ./http.ts).
 */
export function guardedLookup(policy: AddressPolicy): LookupFunction {
  return ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (error, found: LookupAddress[]) => {
      if (error) return callback(error);
      const refused = found.find((a) => !policy.allows(a.address, hostname));
      if (refused) return callback(notAllowed(policy, hostname, refused.address));
      if (options.all) return callback(null, found);
      callback(null, found[0]!.address, found[0]!.family);
    });
  }) as LookupFunction;
}
