// The audit shipper's map from a container address to its session (userdata/host/.../audit-shipper,
// class Sessions), driven directly with the system Python. docker hands a freed address to the next
// container at once: when a session's end never reached the shipper (its program killed, the event
// lost), the connections of the next session with that address must still name the next session
// and its user, never the old one.
import { execFileSync } from 'child_process';
import * as path from 'path';
import { loadHostProgram } from '../helpers/host-program';

const SHIPPER = path.resolve(__dirname, '../../userdata/host/usr/local/libexec/ssh-bastion/audit-shipper');
const SCRIPT = String.raw`import json, os, sys, tempfile, time
${loadHostProgram('audit_shipper', 'm')}
out = {}
A, B, C = "ssh-bastion-" + "a" * 24, "ssh-bastion-" + "b" * 24, "ssh-bastion-" + "c" * 24

def login(s, container, address, user, iam):
    s.note({"event": "session.start", "container": container, "container_address": address})
    s.note({"event": "keys.lookup", "container": container, "decision": "answered", "user": user, "iam_user": iam})
    s.note({"event": "auth", "container": container, "result": "accepted", "user": user})

# A's end is lost; B gets the same address
d = tempfile.mkdtemp()
s = m.Sessions(d)
login(s, A, "172.18.0.5", "alice", "alice@corp")
login(s, B, "172.18.0.5", "bob", "bob@corp")
out["reused"] = s.connection("172.18.0.5", 40000, "10.0.0.1", 22)
# kept across a restart of the shipper
s.save()
out["reopened"] = m.Sessions(d).connection("172.18.0.5", 40001, "10.0.0.1", 22)
# an entry saved by an older shipper (no start time, still open) loses to a newer start too
d2 = tempfile.mkdtemp()
with open(os.path.join(d2, "sessions.json"), "w") as f:
    json.dump({A: {"container_address": "172.18.0.9", "user": "alice", "iam_user": "alice@corp"},
               B: {"container_address": "172.18.0.9", "user": "bob", "iam_user": "bob@corp", "started": time.time()}}, f)
out["older_file"] = m.Sessions(d2).connection("172.18.0.9", 1, "10.0.0.1", 22)["user"]
# an open entry whose session record is gone is ended (after STALE_SECONDS), one with a record is not
units = tempfile.mkdtemp()
with open(os.path.join(units, "1-2-0"), "w") as f:
    f.write(C + "\n")
d3 = tempfile.mkdtemp()
s3 = m.Sessions(d3, units)
login(s3, A, "172.18.0.7", "alice", "alice@corp")
login(s3, C, "172.18.0.8", "carol", "carol@corp")
for k in s3.open.values():
    k["started"] -= m.STALE_SECONDS + 1
s3.save()
out["expired"] = ["ended" in s3.open[A], "ended" in s3.open[C]]
# once ENDED_SECONDS have passed the expired entry is gone: its address names nobody
s3.open[A]["ended"] -= m.ENDED_SECONDS + 1
s3.save()
out["after_expiry"] = s3.connection("172.18.0.7", 1, "10.0.0.1", 22)["user"]
# a regular end: the ended session still names connections logged just after its end
d4 = tempfile.mkdtemp()
s4 = m.Sessions(d4)
login(s4, A, "172.18.0.5", "alice", "alice@corp")
s4.note({"event": "session.end", "container": A})
out["just_ended"] = s4.connection("172.18.0.5", 1, "10.0.0.1", 22)["user"]
print(json.dumps(out))
`;

describe('audit shipper: sessions by container address', () => {
  const out = JSON.parse(execFileSync('/usr/bin/python3', ['-B', '-c', SCRIPT, SHIPPER], { encoding: 'utf8' }));

  test("a session.end that never came: the address's next session names the connections, with its users", () => {
    expect(out.reused).toMatchObject({
      session: 'b'.repeat(24),
      container: `ssh-bastion-${'b'.repeat(24)}`,
      user: 'bob',
      iam_user: 'bob@corp',
    });
  });

  test('the same after the shipper restarts from its saved sessions', () => {
    expect(out.reopened).toMatchObject({ session: 'b'.repeat(24), user: 'bob', iam_user: 'bob@corp' });
  });

  test('an entry saved without a start time loses to one with a start', () => {
    expect(out.older_file).toBe('bob');
  });

  test('an open entry whose session record is gone is ended, then forgotten; one with a record stays open', () => {
    expect(out.expired).toEqual([true, false]);
    expect(out.after_expiry).toBe('-');
  });

  test('a connection logged just after a regular end still names that session', () => {
    expect(out.just_ended).toBe('alice');
  });
});
