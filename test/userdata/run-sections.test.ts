// The section runner, run for real in a private mount namespace whose /etc and /usr/local are
// copy-on-write overlays holding bastion.env, the custom scripts and stand-in section programs.
import * as fs from 'fs';
import * as path from 'path';
import { USER_DATA_SECTIONS } from '../../src/cloud-config';
import { HOST_DIR, run, temporaryDir, writeFile } from './userdata-tree';

const RUNNER = 'usr/local/libexec/ssh-bastion/run-sections';
const STEPS = [...USER_DATA_SECTIONS, 'ready'];

interface Boot {
  /** custom script per section name (incl. `extra`); absent = empty file */
  custom?: Record<string, string>;
  /** the module's section programs that exit with this status */
  failing?: Record<string, number>;
}

interface BootResult {
  status: number | null;
  log: string[];
  /** what the section programs wrote, one line each */
  trace: string[];
}

function boot(scratchDir: string, { custom = {}, failing = {} }: Boot): BootResult {
  const etc = path.join(scratchDir, 'upper/etc');
  const usrLocal = path.join(scratchDir, 'upper/usr-local');
  const trace = path.join(scratchDir, 'trace');
  writeFile(trace, '');
  writeFile(path.join(etc, 'ssh-bastion/bastion.env'), 'BASTION_SERVICE_PORT=22\nBASTION_ADMIN_PORT=2222\n');
  for (const name of [...USER_DATA_SECTIONS, 'extra']) {
    writeFile(path.join(etc, `ssh-bastion/custom/${name}.sh`), custom[name] ?? '', 0o700);
  }
  fs.cpSync(path.join(HOST_DIR, RUNNER), path.join(usrLocal, RUNNER.slice('usr/local/'.length)));
  for (const step of STEPS) {
    const program = `#!/bin/bash\necho "setup-${step} port=$BASTION_SERVICE_PORT" >> ${trace}\nexit ${failing[step] ?? 0}\n`;
    writeFile(path.join(usrLocal, `libexec/ssh-bastion/setup-${step}`), program, 0o755);
  }
  const mounts = [
    ['/etc', etc],
    ['/usr/local', usrLocal],
  ].map(([target, upper]) => {
    const work = `${upper}-work`;
    fs.mkdirSync(work, { recursive: true });
    return `mount -t overlay overlay -o lowerdir=${target},upperdir=${upper},workdir=${work} ${target}`;
  });
  const result = run('unshare', ['-m', 'sh', '-c', [...mounts, `exec /${RUNNER}`].join(' && ')]);
  return {
    status: result.status,
    log: result.output.split('\n').filter((line) => line !== ''),
    trace: fs
      .readFileSync(trace, 'utf8')
      .split('\n')
      .filter((line) => line !== ''),
  };
}

describe('run-sections', () => {
  let scratch: { dir: string; remove: () => void };
  beforeEach(() => (scratch = temporaryDir('run-sections')));
  afterEach(() => scratch.remove());

  test("runs the module's sections in order, then the readiness check", () => {
    // WHEN
    const result = boot(scratch.dir, {});

    // THEN
    expect(result.status).toBe(0);
    expect(result.trace).toEqual(STEPS.map((step) => `setup-${step} port=22`));
  });

  test('logs the start and duration of every section to stderr (syslog is missing here)', () => {
    // WHEN
    const result = boot(scratch.dir, {});

    // THEN (bash's SECONDS counts whole seconds: a stub section of milliseconds that crosses a second
    // boundary takes "1 s")
    expect(result.log.map((line) => line.replace(/: done in [01] s$/, ': done in 0 or 1 s'))).toEqual(
      STEPS.flatMap((step) => [
        `ssh-bastion: section ${step}: start (/usr/local/libexec/ssh-bastion/setup-${step})`,
        `ssh-bastion: section ${step}: done in 0 or 1 s`,
      ]),
    );
  });

  test('runs a non-empty custom script instead of the section, and the extra script before the readiness check', () => {
    // GIVEN a custom script with a #! line and an extra script without one
    const custom = {
      'key-lookup': `#!/bin/sh\necho "custom key-lookup port=$BASTION_SERVICE_PORT" >> ${scratch.dir}/trace\n`,
      extra: `echo "extra port=$BASTION_SERVICE_PORT" >> ${scratch.dir}/trace\n`,
    };

    // WHEN
    const result = boot(scratch.dir, { custom });

    // THEN
    expect(result.status).toBe(0);
    expect(result.trace).toEqual([
      'setup-host-keys port=22',
      'custom key-lookup port=22',
      'setup-container-image port=22',
      'setup-units port=22',
      'extra port=22',
      'setup-ready port=22',
    ]);
    expect(result.log).toContain('ssh-bastion: section key-lookup: start (/etc/ssh-bastion/custom/key-lookup.sh)');
  });

  test('stops at the first failing section with its status, so the host never turns ready', () => {
    // WHEN
    const result = boot(scratch.dir, { failing: { 'container-image': 3 } });

    // THEN
    expect(result.status).toBe(3);
    expect(result.trace).toEqual(['setup-host-keys port=22', 'setup-key-lookup port=22', 'setup-container-image port=22']);
    expect(result.log[result.log.length - 1]).toBe(
      'ssh-bastion: section container-image: FAILED with status 3 after 0 s; stopping, the host stays unhealthy',
    );
  });

  test('stops when the extra script fails', () => {
    // WHEN
    const result = boot(scratch.dir, { custom: { extra: 'exit 7\n' } });

    // THEN
    expect(result.status).toBe(7);
    expect(result.trace).not.toContain('setup-ready port=22');
  });
});

describe('the section programs run-sections starts', () => {
  test.each(STEPS.map((step) => [`usr/local/libexec/ssh-bastion/setup-${step}`]))('%s is in userdata/host', (rel) => {
    expect(fs.existsSync(path.join(HOST_DIR, rel))).toBe(true);
  });
});
