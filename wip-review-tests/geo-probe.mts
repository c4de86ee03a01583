import { publicAddress, locateIp } from '/work/wt15/src/platform/geoip.ts'
import { PACKAGED_GEOIP_DATABASES } from '/work/wt15/src/config-geoip.ts'
const log = { error: (...a: unknown[]) => console.log('LOGGED', a) }
const ips = ['8.8.8.8', '::ffff:8.8.8.8', '::8.8.8.8', '64:ff9b::808:808', '64:ff9b:1::808:808', '2002:808:808::1', '2001:0:4136:e378:8000:63bf:3fff:fdd2', 'fec0::1', 'fe80::1%eth0', '100::1', '2001:db8::1', '0.1.2.3', '192.0.0.9', '192.31.196.1', '192.52.193.1', '192.175.48.1', '198.18.0.1', '240.0.0.1', '255.255.255.255', '3fff::1', '5f00::1', '2001:2::1', '2001:20::1', '2620:4f:8000::1', '::', '::1', '1.1.1.1', '2a00:1450:4007:80f::200e', '08.8.8.8', '8.8.8', '134744072', '0x8.8.8.8', ' 8.8.8.8']
for (const ip of ips) {
  const a = publicAddress(ip)
  const loc = a ? await locateIp(PACKAGED_GEOIP_DATABASES, ip, log as never) : null
  console.log(JSON.stringify(ip).padEnd(42), a ? a.toString().padEnd(30) : 'null'.padEnd(30), loc ? `${loc.countryCode} ${loc.city} ${loc.timezone}` : '-')
}
console.log('rss MB', Math.round(process.memoryUsage().rss / 1e6))
