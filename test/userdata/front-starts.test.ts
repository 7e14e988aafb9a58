// The order in which the front starts containers when more are wanted than it starts at once:
// waiting sessions first and the newest of them first (a login that comes after a burst of
// clients that identified themselves and stalled does not wait behind the burst), refills of the
// ready containers last; a waiter that gives up passes its slot on. front's StartQueue, run in
// python3 with front loaded as a module.
import { spawnSync } from 'child_process';
import * as path from 'path';
import { HOST_DIR } from './userdata-tree';
import { loadHostProgram } from '../helpers/host-program';

const FRONT = path.join(HOST_DIR, 'usr/local/libexec/ssh-bastion/front');

const SCENARIO = `import asyncio, json, sys
${loadHostProgram('front', 'front')}

async def main():
    queue = front.StartQueue(2)
    order = []
    async def start(name, for_session):
        await queue.acquire(for_session)
        order.append(name)
        await asyncio.sleep(0.01)
        queue.release()
    # two slots taken at once; then, while they run: a refill, three sessions in turn, and a
    # session that gives up before its turn
    first = [asyncio.ensure_future(start(n, True)) for n in ("a", "b")]
    await asyncio.sleep(0)
    waiters = [asyncio.ensure_future(start("refill", False))]
    for name in ("s1", "s2", "gone", "s3"):
        waiters.append(asyncio.ensure_future(start(name, True)))
        await asyncio.sleep(0)
    waiters[3].cancel()
    await asyncio.gather(*first, *waiters, return_exceptions=True)
    print(json.dumps({"order": order, "free": queue.free}))

asyncio.run(main())
`;

test('sessions before refills, the newest session first; a waiter that gives up passes its slot on; all slots come back', () => {
  const result = spawnSync('python3', ['-c', SCENARIO, FRONT], { encoding: 'utf8' });
  expect(result.stderr).toBe('');
  expect(JSON.parse(result.stdout)).toEqual({ order: ['a', 'b', 's3', 's2', 's1', 'refill'], free: 2 });
});
