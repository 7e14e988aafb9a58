// front hands each session its client's address as systemd names it, so that the session's
// journal lines read `client=203.0.113.7:51234` also when the service port listens on IPv6 and
// IPv4 at once (the kernel names an IPv4 client of such a socket ::ffff:203.0.113.7). Under a real
// systemd this is also checked by units-systemd.test.ts.
import { spawnSync } from 'child_process';
import * as path from 'path';
import { HOST_DIR } from './userdata-tree';
import { loadHostProgram } from '../helpers/host-program';

const FRONT = path.join(HOST_DIR, 'usr/local/libexec/ssh-bastion/front');

/** Calls front's function `name` on each argument (front loaded as a module) and returns the results. */
function frontCalls(name: string, args: string[]): unknown[] {
  const script = `import json, sys
${loadHostProgram('front', 'front')}
print(json.dumps([getattr(front, sys.argv[2])(a) for a in sys.argv[3:]]))
`;
  const result = spawnSync('python3', ['-c', script, FRONT, name, ...args], { encoding: 'utf8' });
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout) as unknown[];
}

test('an IPv4 client of the dual-stack port is named by its IPv4 address; other addresses stay as they are', () => {
  expect(frontCalls('client_address', ['::ffff:203.0.113.7', '203.0.113.7', '2001:db8::7', 'fe80::7%eth0'])).toEqual([
    '203.0.113.7',
    '203.0.113.7',
    '2001:db8::7',
    'fe80::7%eth0',
  ]);
});

test('the per-source limits count an IPv6 client by its /64 (one subscriber), an IPv4 client by its address, however the kernel names it', () => {
  const addresses = ['2001:db8:1:2::7', '2001:db8:1:2:ffff:1:2:3', '2001:db8:1:3::7', '::ffff:203.0.113.7', '203.0.113.7', 'fe80::7%eth0'];
  expect(frontCalls('source_of', addresses)).toEqual([
    '2001:db8:1:2::/64',
    '2001:db8:1:2::/64',
    '2001:db8:1:3::/64',
    '203.0.113.7',
    '203.0.113.7',
    'fe80::/64',
  ]);
});
