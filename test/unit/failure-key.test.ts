// Which addresses share a failed-authentication count.
import t from 'tap'
import { failureKey } from '../../src/auth/failure-limiter.js'

t.test('IPv4 per address, IPv4-mapped IPv6 as IPv4, IPv6 per /64', async (t) => {
  t.equal(failureKey('203.0.113.7'), '203.0.113.7')
  t.equal(failureKey('::ffff:203.0.113.7'), '203.0.113.7')
  t.equal(failureKey('::FFFF:203.0.113.7'), '203.0.113.7')
  t.equal(failureKey('2001:db8:1:2::1'), '2001:db8:1:2::/64')
  t.equal(failureKey('2001:0db8:0001:0002:ffff:1:2:3'), '2001:db8:1:2::/64', 'leading zeros do not make another key')
  t.equal(failureKey('2001:DB8:1:2:aaaa::'), '2001:db8:1:2::/64', 'nor does case')
  t.equal(failureKey('2001:db8::1'), '2001:db8:0:0::/64')
  t.equal(failureKey('::1'), '0:0:0:0::/64')
  t.equal(failureKey('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64', 'an embedded IPv4 tail')
  t.equal(failureKey(undefined), 'unknown')
  t.equal(failureKey('x'.repeat(500)).length, 64, 'not an address: bounded')
})
