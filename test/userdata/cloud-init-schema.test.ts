// cloud-init's own schema check and YAML reader (PyYAML) on the rendered document.
import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import { renderCloudConfig, USER_DATA_SECTIONS } from '../../src/cloud-config';
import { run, temporaryDir } from './userdata-tree';

const ENVIRONMENT = [
  'BASTION_SERVICE_PORT=22',
  'BASTION_ADMIN_PORT=2222',
  'BASTION_HEALTH_PORT=2223',
  'BASTION_ALLOWED_IAM_GROUPS=admins,ops',
  'BASTION_ASSUME_ROLE_ARN=',
  '',
].join('\n');

let scratch: { dir: string; remove: () => void };
beforeAll(() => (scratch = temporaryDir('cloud-init-schema')));
afterAll(() => scratch.remove());

function schemaCheck(name: string, text: string) {
  const file = path.join(scratch.dir, name);
  fs.writeFileSync(file, text);
  return run('cloud-init', ['schema', '-c', file]);
}

/** The write_files contents as cloud-init's YAML reader sees them, by path. */
function contentsReadByPyYaml(text: string): Record<string, string> {
  const script = [
    'import json, sys, yaml',
    'doc = yaml.safe_load(sys.stdin.read())',
    'print(json.dumps({f["path"]: f["content"] for f in doc["write_files"]}))',
  ].join('\n');
  // cloud-init's own interpreter and PyYAML (python3-yaml), not whatever python3 is first on PATH
  const result = run('/usr/bin/python3', ['-c', script], { input: text });
  if (result.status !== 0) throw new Error(result.output);
  return JSON.parse(result.output) as Record<string, string>;
}

describe('cloud-init schema', () => {
  test('accepts the document with concrete values', () => {
    // WHEN
    const result = schemaCheck(
      'concrete.yaml',
      renderCloudConfig({ environment: ENVIRONMENT, sectionScripts: { units: '#!/bin/bash\ntrue\n' }, extraScript: 'true\n' }),
    );

    // THEN
    expect(result.output).toContain('Valid cloud-config');
    expect(result.status).toBe(0);
  });

  test('accepts the document once Terraform has put JSON strings in place of the placeholders', () => {
    // GIVEN what jsonencode() gives for each value
    const values = [
      ENVIRONMENT,
      '#!/bin/bash\nset -euo pipefail\necho "host keys: $HOME" # \'quoted\' \\\n',
      '',
      '  indented\n\ttab\r\nno final newline',
      'yes',
      'echo \u00e9\u2713 \u003c\u003e\u0026\n',
    ];
    const placeholders = {
      environment: '__TF_0__',
      sectionScripts: { 'host-keys': '__TF_1__', 'key-lookup': '__TF_2__', 'container-image': '__TF_3__', units: '__TF_4__' },
      extraScript: '__TF_5__',
    };
    const text = renderCloudConfig(placeholders).replace(/__TF_(\d+)__/g, (_, i: string) =>
      // Terraform's jsonencode escapes <, > and & as \u003c, \u003e and \u0026
      JSON.stringify(values[Number(i)]).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026'),
    );

    // WHEN
    const result = schemaCheck('substituted.yaml', text);
    const contents = contentsReadByPyYaml(text);

    // THEN
    expect(result.output).toContain('Valid cloud-config');
    expect(result.status).toBe(0);
    expect(contents['/etc/ssh-bastion/bastion.env']).toBe(values[0]);
    USER_DATA_SECTIONS.forEach((section, i) => expect(contents[`/etc/ssh-bastion/custom/${section}.sh`]).toBe(values[i + 1]));
    expect(contents['/etc/ssh-bastion/custom/extra.sh']).toBe(values[5]);
  });

  test("reads back every file content exactly with cloud-init's YAML reader", () => {
    // GIVEN
    const text = renderCloudConfig({ environment: ENVIRONMENT });

    // WHEN
    const contents = contentsReadByPyYaml(text);

    // THEN
    const expected = Object.fromEntries(
      (parse(text) as { write_files: { path: string; content: string }[] }).write_files.map((f) => [f.path, f.content]),
    );
    expect(contents).toEqual(expected);
  });

  test('fails when a write_files entry has a mistyped key', () => {
    // GIVEN a check that would let anything pass is worthless: prove this one can fail
    const text = renderCloudConfig({ environment: ENVIRONMENT }).replace(/^(\s*)permissions: "0644"/m, '$1permission: "0644"');

    // WHEN
    const result = schemaCheck('mistyped.yaml', text);

    // THEN
    expect(result.output).toContain("'permission' was unexpected");
    expect(result.status).not.toBe(0);
  });
});
