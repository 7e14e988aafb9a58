// The audit shipper's reading of the netfilter log's packets and its flow events
// (userdata/host/.../audit-shipper: flow_of, Sessions.connection, Limited), driven directly with
// the system Python: a TCP connection is a tcp.connect, a UDP flow a udp.flow with its ports, ICMP
// and any other IP protocol a flow without ports; what is not an IPv4 packet (or too short to
// hold its ports) is no event; drops over the limits are one event per session and protocol.
import { execFileSync } from 'child_process';
import * as path from 'path';
import { loadHostProgram } from '../helpers/host-program';

const SHIPPER = path.resolve(__dirname, '../../userdata/host/usr/local/libexec/ssh-bastion/audit-shipper');
const SCRIPT = String.raw`import json, socket, struct, sys, tempfile
${loadHostProgram('audit_shipper', 'm')}

def ipv4(protocol, payload, source="172.18.0.5", destination="10.0.0.1", header_words=5):
    options = b"\0" * ((header_words - 5) * 4)
    head = struct.pack(">BBHHHBBH4s4s", 0x40 | header_words, 0, 20 + len(options) + len(payload), 1, 0, 64, protocol, 0,
                       socket.inet_aton(source), socket.inet_aton(destination))
    return head + options + payload

ports = struct.pack(">HH", 40000, 5353)
out = {
    "tcp": m.flow_of(ipv4(6, ports + b"\0" * 16)),
    "udp": m.flow_of(ipv4(17, ports + b"\0\x08\0\0")),
    "udp_options": m.flow_of(ipv4(17, ports + b"\0\x08\0\0", header_words=6)),
    "icmp": m.flow_of(ipv4(1, b"\x08\0\0\0\0\1\0\1")),
    "sctp": m.flow_of(ipv4(132, ports)),
    "udp_cut": m.flow_of(ipv4(17, b"\x9c")),
    "ipv6": m.flow_of(b"\x60" + b"\0" * 39),
    "short": m.flow_of(b"\x45\0\0"),
}
s = m.Sessions(tempfile.mkdtemp())
container = "ssh-bastion-" + "a" * 24
s.note({"event": "session.start", "container": container, "container_address": "172.18.0.5"})
s.note({"event": "keys.lookup", "container": container, "decision": "answered", "user": "alice", "iam_user": "alice@corp"})
s.note({"event": "auth", "container": container, "result": "accepted", "user": "alice"})
out["events"] = {name: s.connection(*out[name]) for name in ("tcp", "udp", "icmp", "sctp")}
limited = m.Limited()
limited.add("172.18.0.5", "10.0.0.1", 22, 100.0)
limited.add("172.18.0.5", "10.0.0.1", 22, 101.0)
limited.add("172.18.0.5", "10.0.0.2", 53, 100.5, "udp")
limited.add("172.18.0.5", "10.0.0.3", None, 100.7, "icmp")
out["limited"] = limited.due(s, 200.0, force=True)
print(json.dumps(out))
`;

type Json = { [key: string]: any };
let out: Json;

beforeAll(() => {
  out = JSON.parse(execFileSync('python3', ['-I', '-B', '-c', SCRIPT, SHIPPER], { encoding: 'utf8' }));
});

test('the addresses, ports and protocol of IPv4 packets, with or without IP options; nothing from other packets', () => {
  expect(out.tcp).toEqual(['172.18.0.5', 40000, '10.0.0.1', 5353, 'tcp']);
  expect(out.udp).toEqual(['172.18.0.5', 40000, '10.0.0.1', 5353, 'udp']);
  expect(out.udp_options).toEqual(['172.18.0.5', 40000, '10.0.0.1', 5353, 'udp']);
  expect(out.icmp).toEqual(['172.18.0.5', null, '10.0.0.1', null, 'icmp']);
  expect(out.sctp).toEqual(['172.18.0.5', null, '10.0.0.1', null, 'ip132']);
  expect(out.udp_cut).toBeNull();
  expect(out.ipv6).toBeNull();
  expect(out.short).toBeNull();
});

test('a TCP connection is a tcp.connect, a UDP flow a udp.flow with its ports, ICMP and others a flow without ports; each with the session and its users', () => {
  const session = { session: 'a'.repeat(24), container: `ssh-bastion-${'a'.repeat(24)}`, user: 'alice', iam_user: 'alice@corp' };
  expect(out.events.tcp).toEqual({
    event: 'tcp.connect',
    ...session,
    source: '172.18.0.5:40000',
    destination_address: '10.0.0.1',
    destination_port: 5353,
    protocol: 'tcp',
  });
  expect(out.events.udp).toEqual({ ...out.events.tcp, event: 'udp.flow', protocol: 'udp' });
  expect(out.events.icmp).toEqual({
    event: 'icmp.flow',
    ...session,
    source: '172.18.0.5',
    destination_address: '10.0.0.1',
    protocol: 'icmp',
  });
  expect(out.events.sctp).toMatchObject({ event: 'ip132.flow', protocol: 'ip132' });
  expect(out.events.sctp).not.toHaveProperty('destination_port');
});

test('drops over the limits: one event per session and protocol, with the first destination and the count of samples', () => {
  const byEvent = Object.fromEntries(out.limited.map((e: Json) => [e.event, e]));
  expect(Object.keys(byEvent).sort()).toEqual(['icmp.limited', 'tcp.limited', 'udp.limited']);
  expect(byEvent['tcp.limited']).toMatchObject({ user: 'alice', iam_user: 'alice@corp', first_destination: '10.0.0.1:22', samples: 2 });
  expect(byEvent['udp.limited']).toMatchObject({ user: 'alice', first_destination: '10.0.0.2:53', samples: 1 });
  expect(byEvent['icmp.limited']).toMatchObject({ user: 'alice', first_destination: '10.0.0.3', samples: 1 });
});
