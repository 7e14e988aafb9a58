import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import { HOST_PACKAGES, renderCloudConfig, USER_DATA_SECTIONS } from '../../src/cloud-config';
import { BOOT_DIR, run, temporaryDir, writeFile } from './userdata-tree';

interface WriteFile {
  path: string;
  owner: string;
  permissions: string;
  content: string;
}

interface CloudConfig {
  packages: string[];
  package_update: boolean;
  runcmd: string[][];
  write_files: WriteFile[];
}

const ENVIRONMENT = 'BASTION_SERVICE_PORT=22\nBASTION_ADMIN_PORT=2222\n';

function parsed(text: string): CloudConfig {
  return parse(text) as CloudConfig;
}

function fileAt(config: CloudConfig, filePath: string): WriteFile {
  const file = config.write_files.find((f) => f.path === filePath);
  if (!file) throw new Error(`${filePath} is not in write_files: ${config.write_files.map((f) => f.path).join(', ')}`);
  return file;
}

/** Files below `dir` as `find` lists them, without the documentation and byte-code caches. */
function filesOnDisk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const result = run('find', [dir, '-type', 'f', '-not', '-name', '*.md', '-not', '-path', '*/__pycache__/*']);
  return result.output
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => path.relative(dir, line));
}

describe('renderCloudConfig with a small userdata tree', () => {
  let fixture: { dir: string; remove: () => void };

  beforeAll(() => {
    fixture = temporaryDir('cloud-config-fixture');
    const boot = path.join(fixture.dir, 'boot');
    writeFile(path.join(boot, 'usr/local/libexec/ssh-bastion/bootstrap'), '#!/usr/bin/python3\n# why\n\nprint(1)\n', 0o755);
    writeFile(path.join(boot, 'usr/local/libexec/ssh-bastion/__pycache__/bootstrap.cpython-311.pyc'), 'bytecode');
    writeFile(path.join(boot, 'README.md'), '# not for hosts\n');
    writeFile(path.join(fixture.dir, 'host/usr/local/libexec/ssh-bastion/run-sections'), '#!/bin/bash\n', 0o755);
    writeFile(path.join(fixture.dir, 'worker/Dockerfile'), 'FROM base\n');
  });

  afterAll(() => fixture.remove());

  test('renders the whole document in a fixed, readable form', () => {
    // WHEN
    const text = renderCloudConfig({
      environment: ENVIRONMENT,
      sectionScripts: { units: '#!/bin/bash\necho custom units\n' },
      extraScript: 'echo extra\n',
      userDataDir: fixture.dir,
    });

    // THEN
    expect(text).toBe(
      [
        '#cloud-config',
        'packages:',
        '- docker',
        '- python3-boto3',
        'package_update: false',
        'runcmd:',
        '- - /usr/local/libexec/ssh-bastion/bootstrap',
        'write_files:',
        '- path: /etc/ssh-bastion/bastion.env',
        '  owner: root:root',
        '  permissions: "0644"',
        '  content: |',
        '    BASTION_SERVICE_PORT=22',
        '    BASTION_ADMIN_PORT=2222',
        '- path: /etc/ssh-bastion/custom/container-image.sh',
        '  owner: root:root',
        '  permissions: "0700"',
        '  content: ""',
        '- path: /etc/ssh-bastion/custom/extra.sh',
        '  owner: root:root',
        '  permissions: "0700"',
        '  content: |',
        '    echo extra',
        '- path: /etc/ssh-bastion/custom/host-keys.sh',
        '  owner: root:root',
        '  permissions: "0700"',
        '  content: ""',
        '- path: /etc/ssh-bastion/custom/key-lookup.sh',
        '  owner: root:root',
        '  permissions: "0700"',
        '  content: ""',
        '- path: /etc/ssh-bastion/custom/units.sh',
        '  owner: root:root',
        '  permissions: "0700"',
        '  content: |',
        '    #!/bin/bash',
        '    echo custom units',
        '- path: /usr/local/libexec/ssh-bastion/bootstrap',
        '  owner: root:root',
        '  permissions: "0755"',
        '  content: |',
        '    #!/usr/bin/python3',
        '    # why',
        '',
        '    print(1)',
        '',
      ].join('\n'),
    );
  });

  test('ships the bootstrap exactly as it is in the repository, comments and blank lines included', () => {
    // WHEN
    const config = parsed(renderCloudConfig({ environment: ENVIRONMENT, userDataDir: fixture.dir }));

    // THEN
    expect(fileAt(config, '/usr/local/libexec/ssh-bastion/bootstrap').content).toBe(
      fs.readFileSync(path.join(fixture.dir, 'boot/usr/local/libexec/ssh-bastion/bootstrap'), 'utf8'),
    );
  });

  test('writes only the bootstrap, the settings and the scripts: the host files come from the bundle', () => {
    // WHEN
    const paths = parsed(renderCloudConfig({ environment: ENVIRONMENT, userDataDir: fixture.dir })).write_files.map((f) => f.path);

    // THEN
    expect(paths.filter((p) => !p.startsWith('/etc/ssh-bastion/'))).toEqual(['/usr/local/libexec/ssh-bastion/bootstrap']);
  });

  test('installs the packages it is given, or one placeholder for a Terraform list', () => {
    expect(
      parsed(renderCloudConfig({ environment: ENVIRONMENT, userDataDir: fixture.dir, packages: HOST_PACKAGES['debian-12'] })).packages,
    ).toEqual(['docker.io', 'python3-boto3']);
    expect(renderCloudConfig({ environment: ENVIRONMENT, userDataDir: fixture.dir, packages: '__TF_9__' })).toContain(
      '\npackages: __TF_9__\n',
    );
  });

  test('keeps the inputs exactly, byte for byte', () => {
    // WHEN
    const environment = '\n  # indented text, not a comment\n\tno final newline';
    const config = parsed(renderCloudConfig({ environment, userDataDir: fixture.dir }));

    // THEN
    expect(fileAt(config, '/etc/ssh-bastion/bastion.env').content).toBe(environment);
  });

  test('leaves out Markdown files and Python byte-code caches', () => {
    // WHEN
    const paths = parsed(renderCloudConfig({ environment: ENVIRONMENT, userDataDir: fixture.dir })).write_files.map((f) => f.path);

    // THEN
    expect(paths.filter((p) => p.endsWith('.md') || p.includes('__pycache__'))).toEqual([]);
  });

  test('renders the same text every time', () => {
    const input = { environment: ENVIRONMENT, extraScript: 'echo hi\n', userDataDir: fixture.dir };
    expect(renderCloudConfig(input)).toBe(renderCloudConfig(input));
  });

  test('fails when userDataDir holds no bootstrap', () => {
    // GIVEN
    const empty = temporaryDir('cloud-config-empty');
    try {
      // THEN
      expect(() => renderCloudConfig({ environment: '', userDataDir: empty.dir })).toThrow(
        /boot\/usr\/local\/libexec\/ssh-bastion\/bootstrap does not exist: userDataDir must be the folder holding/,
      );
    } finally {
      empty.remove();
    }
  });

  test('fails when userdata holds a symbolic link', () => {
    // GIVEN
    const linked = temporaryDir('cloud-config-link');
    try {
      writeFile(path.join(linked.dir, 'boot/etc/real.conf'), 'x\n');
      fs.symlinkSync('real.conf', path.join(linked.dir, 'boot/etc/link.conf'));

      // THEN
      expect(() => renderCloudConfig({ environment: '', userDataDir: linked.dir })).toThrow(/link\.conf is neither a file nor a folder/);
    } finally {
      linked.remove();
    }
  });
});

describe('renderCloudConfig with placeholders for Terraform values', () => {
  const input = {
    environment: '__TF_0__',
    sectionScripts: { 'host-keys': '__TF_1__', 'key-lookup': '__TF_2__', 'container-image': '__TF_3__', units: '__TF_4__' },
    extraScript: '__TF_5__',
  };

  test('writes every placeholder unquoted, as the whole value of one content key', () => {
    // WHEN
    const text = renderCloudConfig(input);

    // THEN
    for (let i = 0; i <= 5; i++) {
      const lines = text.split('\n').filter((line) => line.includes(`__TF_${i}__`));
      expect(lines).toEqual([`  content: __TF_${i}__`]);
    }
  });

  test('gives a document whose values are the Terraform strings once placeholders become JSON strings', () => {
    // GIVEN values with every character class that JSON escapes or YAML treats specially
    const values = [
      'BASTION_SERVICE_PORT=22\nBASTION_ALLOWED_IAM_GROUPS=admins,ops\n',
      '#!/bin/bash\nset -euo pipefail\necho "quoted" \'single\' \\ backslash: colon # hash\n',
      '',
      '  leading spaces\n\ttab\r\nno final newline',
      'on',
      'unicode: \u00e9\u2713 <>&\n',
    ];

    // WHEN
    const substituted = renderCloudConfig(input).replace(/__TF_(\d+)__/g, (_, i: string) => JSON.stringify(values[Number(i)]));
    const config = parsed(substituted);

    // THEN
    expect(fileAt(config, '/etc/ssh-bastion/bastion.env').content).toBe(values[0]);
    USER_DATA_SECTIONS.forEach((section, i) => {
      expect(fileAt(config, `/etc/ssh-bastion/custom/${section}.sh`).content).toBe(values[i + 1]);
    });
    expect(fileAt(config, '/etc/ssh-bastion/custom/extra.sh').content).toBe(values[5]);
  });
});

describe('renderCloudConfig with the real userdata tree', () => {
  const config = parsed(renderCloudConfig({ environment: ENVIRONMENT }));

  test('writes every file of userdata/boot to the same path, as a program', () => {
    const expected = filesOnDisk(BOOT_DIR).map((rel) => ({ path: `/${rel}`, permissions: '0755' }));
    const written = expected.map((e) => ({ path: e.path, permissions: fileAt(config, e.path).permissions }));
    expect(written).toEqual(expected);
    expect(expected).toContainEqual({ path: '/usr/local/libexec/ssh-bastion/bootstrap', permissions: '0755' });
  });

  test('writes an empty custom script for each section and for the extra script', () => {
    for (const name of [...USER_DATA_SECTIONS, 'extra']) {
      expect(fileAt(config, `/etc/ssh-bastion/custom/${name}.sh`)).toEqual({
        path: `/etc/ssh-bastion/custom/${name}.sh`,
        owner: 'root:root',
        permissions: '0700',
        content: '',
      });
    }
  });

  test('owns every file by root', () => {
    expect(new Set(config.write_files.map((f) => f.owner))).toEqual(new Set(['root:root']));
  });

  test('runs the bootstrap as the only command, after installing the packages', () => {
    expect(Object.keys(config)).toEqual(['packages', 'package_update', 'runcmd', 'write_files']);
    expect(config.runcmd).toEqual([['/usr/local/libexec/ssh-bastion/bootstrap']]);
    expect(config.packages).toEqual(['docker', 'python3-boto3']);
    expect(config.package_update).toBe(false);
  });
});
