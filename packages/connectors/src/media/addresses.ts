import { BlockList, isIP } from 'node:net';

/**
 * Addresses a media fetch may not reach unless the operator allows them: loopback, private,
 * link-local (cloud metadata lives at 169.254.169.254 and fd00:ec2::254), carrier-grade NAT
 * (Alibaba's metadata, 100.100.100.200), unspecified, multicast and reserved ranges. IPv4-mapped
 * IPv6 addresses (::ffff:127.0.0.1) are checked as the IPv4 address they carry.
 */
const INTERNAL: Array<[string, number, 'ipv4' | 'ipv6']> = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.0.2.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['198.51.100.0', 24, 'ipv4'],
  ['203.0.113.0', 24, 'ipv4'],
  ['224.0.0.0', 3, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['64:ff9b::', 96, 'ipv6'],
  ['100::', 64, 'ipv6'],
  ['2001:db8::', 32, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
];

const internal = new BlockList();
for (const [net, prefix, family] of INTERNAL) internal.addSubnet(net, prefix, family);

/** `10.0.0.0/8`, `127.0.0.1`, `::1`, `fd00::/8` as a BlockList; throws naming the bad entry. */
export function addressList(entries: string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [ip, bits] = entry.split('/') as [string, string | undefined];
    const family = isIP(ip);
    if (!family) throw new Error(`"${entry}" is not an IP address or CIDR range`);
    const max = family === 4 ? 32 : 128;
    const prefix = bits === undefined ? max : Number(bits);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new Error(`"${entry}" has a bad prefix length`);
    list.addSubnet(ip, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

/** The IPv4 address inside an IPv4-mapped IPv6 address, else the address itself. */
function unmapped(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip;
}

/** Why an address is refused (a short rule for the error message), or undefined when it may be reached. */
export function refusedAddress(ip: string, allowed: BlockList): string | undefined {
  const addr = unmapped(ip);
  const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
  if (!isIP(addr)) return `${ip} is not an IP address`;
  if (allowed.check(addr, family)) return undefined;
  if (internal.check(addr, family)) {
    return `${addr} is a loopback, private, link-local or metadata address (allow it with TESSERA_MEDIA_ALLOW_ADDRESSES)`;
  }
  return undefined;
}
