import { readFileSync } from 'fs';
import { join } from 'path';
import { resolveConfig } from '../../src/config';
import { HOST_SETTING_VARIABLES, hostEnvironmentParts } from '../../src/host-settings';
import { DERIVED, INPUTS } from '../../src/inputs';
import { hostSettings } from '../../src/user-data';
import { REQUIRED_PROPS } from '../helpers/synth';

/** Each property of SshBastionServiceProps with whether it is optional and its TSDoc `@default` text. */
function documentedProps(): { prop: string; optional: boolean; documentedDefault: string | undefined }[] {
  const source = readFileSync(join(__dirname, '../../src/props.ts'), 'utf-8');
  const start = source.indexOf('export interface SshBastionServiceProps {');
  const body = source.slice(start, source.indexOf('\n}\n', start));
  return [...body.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*readonly (\w+)(\??):/g)].map(([, doc, prop, optional]) => ({
    prop,
    optional: optional === '?',
    documentedDefault: /@default (.*)/.exec(doc)?.[1].trim(),
  }));
}

/** The literal of a `@default` line, without the explanation in parentheses after it: `'' (no DNS record)` is "". */
function literalOf(text: string): unknown {
  return JSON.parse(text.split(' (')[0].replace(/'/g, '"'));
}

describe('the table of inputs', () => {
  const documented = documentedProps();

  test('has one entry per construct property, in both directions', () => {
    expect(documented.length).toBeGreaterThan(60);
    expect(INPUTS.map((input) => input.prop).sort()).toEqual(documented.map(({ prop }) => prop).sort());
    expect(new Set(INPUTS.map((input) => input.prop)).size).toBe(INPUTS.length);
  });

  test.each(documentedProps().map((entry) => [entry.prop, entry] as const))(
    "%s: the TSDoc's @default and the table's default agree",
    (prop, { optional, documentedDefault }) => {
      const input = INPUTS.find((candidate) => candidate.prop === prop)!;
      if (!optional) {
        expect(documentedDefault).toBeUndefined();
        expect(input.default).toBeUndefined();
        return;
      }
      expect(documentedDefault).toBeDefined();
      if (documentedDefault!.startsWith('-')) {
        // A derived default: computed from other inputs, or what a literal default stands for where it is used.
        expect(input.default === DERIVED || input.standsFor !== undefined).toBe(true);
      } else {
        expect(input.default).not.toBe(DERIVED);
        expect(input.standsFor).toBeUndefined();
        expect(input.default).toEqual(literalOf(documentedDefault!));
      }
    },
  );

  test('a derived default has a derivation or is documented where it is computed', () => {
    for (const input of INPUTS) {
      if (input.derive !== undefined) expect(input.default).toBe(DERIVED);
    }
    expect(INPUTS.filter((input) => input.default === DERIVED && input.derive === undefined).map((input) => input.prop)).toEqual([
      'targetSessionsPerHost',
    ]);
  });

  /** A value of each type other than the default, and how bastion.env writes it. */
  const SAMPLES: { [type: string]: [unknown, string] } = {
    number: [7, '7'],
    string: ['public.ecr.aws/example/sample:1', 'public.ecr.aws/example/sample:1'],
    bool: [true, 'true'],
    'list(string)': [['admins', 'developers'], 'admins,developers'],
  };

  test.each(INPUTS.filter((input) => input.hostSetting !== undefined).map((input) => [input.prop, input] as const))(
    "%s reaches the hosts' bastion.env under its host setting's name",
    (prop, { hostSetting, type }) => {
      const [value, text] = SAMPLES[type];
      const settings = hostSettings(resolveConfig({ ...REQUIRED_PROPS, [prop]: value }), {
        region: 'r',
        bucket: 'b',
        key: 'k',
        sha256: 's',
      });
      const lines = hostEnvironmentParts(settings).join('').split('\n');
      expect(lines).toContain(`${hostSetting}=${text}`);
    },
  );

  test('host settings have distinct names', () => {
    const names = Object.values(HOST_SETTING_VARIABLES);
    expect(new Set(names).size).toBe(names.length);
  });
});
